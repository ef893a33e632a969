"""`python -m stenogram`: the app (files given are opened in it); a sub-command runs the CLI."""

from __future__ import annotations

import sys


def wants_command_line(args: list[str]) -> bool:
    """True for `stenogram transcribe …`, `--help`, `--self-test` …; False for files to open."""
    from stenogram.cli import COMMAND_NAMES

    return bool(args) and (args[0].startswith("-") or args[0] in COMMAND_NAMES)


def main() -> int:
    if wants_command_line(sys.argv[1:]):
        from stenogram.cli import main as cli_main

        return cli_main()
    from stenogram.ui.app import run_app

    return run_app(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
