"""Strip symbol tables from the Linux bundle's shared libraries, where that is safe.

PyInstaller's ``strip=True`` strips every library, and binutils' strip breaks libraries that
auditwheel rewrote with patchelf (numpy's OpenBLAS, Qt's FFmpeg): their segments come out
misaligned and the loader refuses them ("ELF load command address/offset not
page-aligned"). This strips a copy of each library that still has a symbol table, and keeps
the copy only when every loadable segment is still where the loader needs it. About 60 MB
go (libpython alone 17 MB); the libraries it would break keep their symbols.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

PAGE = 4096  # the loader's check; 64 KB-page systems need the same 4 KB congruence
MIN_SAVING = 64 * 1024  # smaller gains are not worth a second copy of the file
_SHT_SYMTAB = 2
_PT_LOAD = 1


def _elf64(data: bytes) -> bool:
    return data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1  # 64-bit little-endian


def has_symbol_table(path: Path) -> bool:
    data = path.read_bytes()
    if not _elf64(data):
        return False
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    return any(
        struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == _SHT_SYMTAB
        for i in range(shnum)
        if shoff + (i + 1) * shentsize <= len(data)
    )


def segments_aligned(path: Path) -> bool:
    """Whether every PT_LOAD segment has offset and address congruent modulo a page."""
    data = path.read_bytes()
    if not _elf64(data):
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        kind, _, offset, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if kind == _PT_LOAD and (vaddr - offset) % PAGE:
            return False
    return True


def stripped_copy(src: Path, dest: Path) -> Path | None:
    """A stripped copy of src at dest, or None where stripping gains little or breaks it."""
    if not has_symbol_table(src):
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    done = subprocess.run(["strip", "--strip-unneeded", str(dest)], capture_output=True)
    if (
        done.returncode != 0
        or src.stat().st_size - dest.stat().st_size < MIN_SAVING
        or not segments_aligned(dest)
    ):
        dest.unlink()
        return None
    shutil.copymode(src, dest)
    return dest


def strip_binaries(binaries: list, workdir: Path) -> tuple[list, int]:
    """PyInstaller's binaries TOC with stripped copies where safe, and the bytes saved.

    Without binutils' strip, the TOC comes back unchanged (and 0 saved).
    """
    if shutil.which("strip") is None:
        return list(binaries), 0
    out, saved = [], 0
    for dest_name, src, kind in binaries:
        copy = stripped_copy(Path(src), workdir / dest_name) if Path(src).is_file() else None
        if copy is not None:
            saved += Path(src).stat().st_size - copy.stat().st_size
            src = str(copy)
        out.append((dest_name, src, kind))
    return out, saved
