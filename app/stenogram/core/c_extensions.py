"""Our optional C extensions, found by importing them and called through ctypes.

Each is built by setup.py where a compiler is present; where it is not (or the user switched
it off), callers keep their numpy code. A module has no Python functions: importing it finds
its file, and ctypes calls into that same loaded library, releasing the GIL while it runs.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def load_extension(name: str, disable_env: str, what: str) -> ctypes.CDLL | None:
    """The library of ``stenogram.core.<name>``, or None where it is not built, cannot load,
    or ``disable_env`` is "0" (to compare against numpy). ``what`` names it in the log."""
    if os.environ.get(disable_env) == "0":
        return None
    module = f"stenogram.core.{name}"
    try:
        path = importlib.import_module(module).__file__
        return ctypes.CDLL(path)  # the module's own file, already loaded: the same handle
    except ImportError:
        log.info("%s: %s is not built; numpy runs instead", what, module)
    except OSError as error:
        log.warning("%s: cannot load %s: %s", what, module, error)
    return None


class LazyExtension(Generic[T]):
    """An extension looked for on first use (once, from any thread): ``configure`` turns its
    library into what callers use (declaring the functions' types), or None where it cannot
    run; calling the object gives that, or None."""

    def __init__(self, name: str, disable_env: str, what: str,
                 configure: Callable[[ctypes.CDLL], T | None]) -> None:
        self._args = (name, disable_env, what, configure)
        self._lock = threading.Lock()
        self._looked = False
        self._value: T | None = None

    def __call__(self) -> T | None:
        with self._lock:
            if not self._looked:
                name, disable_env, what, configure = self._args
                lib = load_extension(name, disable_env, what)
                self._value = configure(lib) if lib is not None else None
                self._looked = True
            return self._value

    def fresh(self) -> LazyExtension[T]:
        """The same extension, not looked for yet (tests switch it off and on)."""
        return LazyExtension(*self._args)
