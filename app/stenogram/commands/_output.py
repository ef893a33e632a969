"""Small helpers the document commands share: writing to stdout/stderr and turning our typed
errors into one readable line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from stenogram.core.formats import FormatError, OutputExistsError
from stenogram.core.library import LibraryError

EXIT_ERROR = 1


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def friendly_errors(func: Callable[..., int]) -> Callable[..., int]:
    """Report the errors a user can cause (bad files, existing outputs, a missing transcript)
    as one line on stderr with exit status 1, instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return func(*args, **kwargs)
        except (FormatError, OutputExistsError, LibraryError, ValueError) as exc:
            err(f"stenogram: error: {exc}")
        except OSError as exc:
            err(f"stenogram: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_ERROR

    return wrapper
