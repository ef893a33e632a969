"""`python -m stenogram`: the app; with arguments, the command line."""

from __future__ import annotations

import sys


def main() -> int:
    if len(sys.argv) > 1:
        from stenogram.cli import main as cli_main

        return cli_main()
    try:
        from stenogram.ui.app import run_app
    except ImportError:  # the window is not built yet: show the command line instead
        from stenogram.cli import main as cli_main

        return cli_main(["--help"])
    return run_app(sys.argv)


if __name__ == "__main__":
    sys.exit(main())
