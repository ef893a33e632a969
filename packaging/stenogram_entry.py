"""The frozen app's entry point: the window without arguments, the command line with them.

PyInstaller runs this file as ``__main__``. ``freeze_support`` must come first: the app starts
its engine in a child process with multiprocessing's "spawn", and in a bundle that child is
this same executable started with ``--multiprocessing-fork``.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    # Finder on older macOS passes a process serial number ("-psn_0_12345"); it is not a file
    # or a command, and must not send the app into command-line mode.
    sys.argv[1:] = [a for a in sys.argv[1:] if not a.startswith("-psn_")]
    from stenogram.__main__ import main

    sys.exit(main())
