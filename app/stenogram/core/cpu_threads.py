"""numpy work split over the CPU's cores, by rows, with numpy's BLAS kept to one thread.

numpy's BLAS (OpenBLAS) runs a matrix product on every core, but numpy's elementwise kernels
(``exp``, ``+``, row sums) run on the calling thread alone. Handing those to a second thread
gains nothing while BLAS is threaded: after each product OpenBLAS's own threads spin for about
0.1 s waiting for the next, holding the other cores. Splitting all the work by rows instead,
each thread with single-threaded BLAS (numpy releases the GIL in both), keeps every core busy.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

MAX_THREADS = 8  # elementwise passes stop scaling well before this: memory bandwidth
MIN_ELEMENTS_PER_THREAD = 65536  # below ~0.1 ms of work a hand-off to a thread costs more than it saves
# numpy's bundled OpenBLAS, prefixed and 64-bit-indexed in PyPI wheels; plain in distro builds
_SET_THREADS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
                "scipy_openblas_set_num_threads", "openblas_set_num_threads")
_GET_THREADS = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                "scipy_openblas_get_num_threads", "openblas_get_num_threads")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_local = threading.local()  # .inside: this thread runs a part of split_rows
_blas: tuple[Callable[[int], None], Callable[[], int]] | None | bool = False  # False: not looked up
_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved = 0


def thread_count() -> int:
    """The cores this process may run on, at most MAX_THREADS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity call
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_THREADS))


def split_rows(n_rows: int, work: Callable[[int, int], None], parts: int | None = None,
               row_size: int = 0) -> None:
    """Calls ``work(start, stop)`` on contiguous ranges that cover ``range(n_rows)``, at once.

    ``parts`` ranges, or when None as many as the cores and ``row_size`` (elements per row)
    make worth it. The calling thread takes the first range itself. Called from inside a
    range, it runs ``work`` whole on the calling thread: the cores are busy already. An
    exception in any range is raised here once every range has finished.
    """
    if parts is None:
        parts = min(thread_count(), max(1, n_rows * row_size // MIN_ELEMENTS_PER_THREAD))
    parts = min(parts, n_rows)
    if parts <= 1 or getattr(_local, "inside", False):
        work(0, n_rows)
        return
    bounds = [n_rows * i // parts for i in range(parts + 1)]
    futures = [_executor().submit(_run_part, work, bounds[i], bounds[i + 1])
               for i in range(1, parts)]
    try:
        _run_part(work, bounds[0], bounds[1])
    finally:
        for future in futures:
            future.exception()  # wait for all, so no thread still writes into the caller's arrays
    for future in futures:
        future.result()


@contextmanager
def single_threaded_blas() -> Iterator[bool]:
    """numpy's BLAS on one thread while inside; yields False where it cannot be told so.

    Other threads' products also run on one thread meanwhile (the setting is global), and the
    count from before comes back when the last of overlapping users leaves.
    """
    global _blas_users, _blas_saved
    blas = _openblas()
    if blas is None:
        yield False
        return
    set_threads, get_threads = blas
    with _blas_lock:
        if _blas_users == 0:
            _blas_saved = get_threads()
            set_threads(1)
        _blas_users += 1
    try:
        yield True
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                set_threads(_blas_saved)


def _run_part(work: Callable[[int, int], None], start: int, stop: int) -> None:
    _local.inside = True
    try:
        work(start, stop)
    finally:
        _local.inside = False


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MAX_THREADS - 1, thread_name_prefix="stenogram-cpu")
        return _pool


def _openblas() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    """The thread-count setter and getter of the OpenBLAS numpy loaded, or None."""
    global _blas
    if _blas is False:
        _blas = _find_openblas()
    return _blas  # type: ignore[return-value]


def _find_openblas() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    root = Path(np.__file__).parent
    for lib_path in [*sorted(root.parent.glob("numpy.libs/*openblas*")),
                     *sorted(root.glob(".dylibs/*openblas*"))]:
        try:
            lib = ctypes.CDLL(str(lib_path))  # already loaded by numpy: the same handle
        except OSError:
            continue
        setter = next((getattr(lib, n) for n in _SET_THREADS if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GET_THREADS if hasattr(lib, n)), None)
        if setter is not None and getter is not None:
            setter.argtypes, setter.restype = [ctypes.c_int], None
            getter.argtypes, getter.restype = [], ctypes.c_int
            return setter, getter
    return None
