"""Drop the libraries that only the bundle's removed parts needed.

PyInstaller collects each binary with the shared libraries it links. When the spec then
removes a Qt plugin (GTK's theme, Wayland), the libraries that came for it alone (cairo,
pango, gio …) stay behind, loaded by nothing. A library is dropped when a removed binary
links it and no kept binary does, directly or through others; everything else, including
any library loaded by path (OpenBLAS, the VAD), is kept.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable

Needed = Callable[[str], Iterable[str]]  # source path -> the sonames it links (DT_NEEDED)


def elf_needed(path: str) -> list[str]:
    """The sonames an ELF file links (DT_NEEDED), read with binutils' readelf; [] if it cannot."""
    try:
        out = subprocess.run(["readelf", "-dW", path], capture_output=True, text=True).stdout
    except OSError:
        return []
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _closure(sources: Iterable[str], needed: Needed, by_name: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(sources)
    while stack:
        src = stack.pop()
        if src in seen:
            continue
        seen.add(src)
        for name in needed(src):
            stack.extend(by_name.get(name, ()))
    return seen


def drop_orphans(kept: list, removed: list, needed: Needed) -> tuple[list, list]:
    """(kept TOC without the orphans, the orphans' TOC entries), for PyInstaller TOCs.

    TOC entries are (dest_name, src, typecode); a SYMLINK entry goes with its target's name.
    """
    files = [e for e in kept if e[2] != "SYMLINK"]
    by_name: dict[str, list[str]] = {}
    for dest, src, _ in files:
        by_name.setdefault(os.path.basename(dest), []).append(src)
    removed_srcs = [src for _, src, kind in removed if kind != "SYMLINK"]
    candidates = _closure(removed_srcs, needed, by_name) - set(removed_srcs)
    roots = [src for _, src, _ in files if src not in candidates]
    orphans = candidates - _closure(roots, needed, by_name)
    orphan_names = {os.path.basename(d) for d, s, _ in files if s in orphans}
    dropped = [
        e for e in kept
        if e[1] in orphans or (e[2] == "SYMLINK" and os.path.basename(e[0]) in orphan_names)
    ]
    return [e for e in kept if e not in dropped], dropped
