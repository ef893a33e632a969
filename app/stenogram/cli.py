"""The `stenogram` command line: one argparse parser, a sub-command per area of the core.

Each module in ``stenogram.commands`` exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func`` (args -> exit code) on each parser.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from stenogram import __version__

# Command modules in the order `stenogram --help` lists them.
COMMAND_MODULES = (
    "stenogram.commands.transcribe",
    "stenogram.commands.models",
    "stenogram.commands.library",
    "stenogram.commands.subtitles",
    "stenogram.commands.convert",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stenogram",
        description="Speech to text and subtitles, on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"stenogram {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
