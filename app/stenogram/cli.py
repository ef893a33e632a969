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

# The first word of each sub-command, so `python -m stenogram FILE` can tell files from commands.
COMMAND_NAMES = frozenset({"transcribe", "models", "library", "subtitles", "convert"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stenogram",
        description="Speech to text and subtitles, on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"stenogram {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="transcribe a bundled clip to check this installation, then exit")
    parser.add_argument("--model", dest="self_test_model", metavar="MODEL",
                        help="with --self-test: the model name or folder to test")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test_model and not args.self_test:  # else `stenogram --model base transcribe …` ignored it
        parser.error(
            "--model before a command chooses the model of --self-test only; "
            "give it after the command, e.g. stenogram transcribe --model MODEL FILE"
        )
    if args.self_test:
        from stenogram.self_test import run_self_test

        return run_self_test(args.self_test_model)
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
