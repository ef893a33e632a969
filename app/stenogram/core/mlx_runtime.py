"""Import MLX the right way for this platform, once.

On Linux the CPU build of MLX calls BLAS through whatever ``libblas`` the dynamic linker
finds first; preloading Debian's pthread OpenBLAS with RTLD_GLOBAL before ``mlx`` is imported
makes the encoder about 7x faster. On macOS MLX uses Accelerate and Metal: nothing to do.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from pathlib import Path

# Debian's libopenblas0-pthread; the first file that exists wins.
OPENBLAS_CANDIDATES = (
    Path("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"),
    Path("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"),
    Path("/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0"),
    Path("/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3"),
)

_lock = threading.Lock()
_ready = False
_openblas: Path | None = None
_preload_tried = False


def preload_blas() -> Path | None:
    """Load OpenBLAS with RTLD_GLOBAL before anything imports MLX (Linux only; idempotent).

    MLX binds its BLAS symbols when it is first imported, to whatever library is loaded then;
    after that, preloading is too late and matrix products run on the CPU wheel's reference
    BLAS, 50-70x slower. ``stenogram.core`` calls this when it is imported, so any program
    that imports the core before MLX (or mlx_whisper) gets the fast path.
    """
    global _openblas, _preload_tried
    with _lock:
        if not _preload_tried and sys.platform.startswith("linux") and "mlx.core" not in sys.modules:
            _openblas = _preload_openblas()
        _preload_tried = True
    return _openblas


def ensure_mlx() -> None:
    """Preload OpenBLAS (Linux only) and import ``mlx.core``; cheap after the first call."""
    global _ready
    if _ready:
        return
    preload_blas()
    import mlx.core  # noqa: F401  (the import is the point)

    _ready = True


def release_thread_streams() -> None:
    """Call last in a thread that used MLX and is about to end (never on the main thread).

    MLX gives each thread its own streams; left behind by a finished thread, they can abort
    the process when it exits ("terminate called without an active exception", 3 exits in 6
    after one transcription on a worker thread, none with this). The thread cannot use MLX
    afterwards.
    """
    if "mlx.core" in sys.modules and threading.current_thread() is not threading.main_thread():
        import mlx.core as mx

        mx.clear_streams()


def openblas_path() -> Path | None:
    """The OpenBLAS library preloaded by :func:`ensure_mlx`, or None."""
    return _openblas


def _bundled_openblas() -> tuple[Path, ...]:
    # The PyInstaller bundle carries its own copy (packaging/stenogram.spec); it comes first
    # because it is the one the bundle was tested with.
    base = getattr(sys, "_MEIPASS", None)
    return (Path(base) / "openblas" / "libopenblas.so.0",) if base else ()


def _preload_openblas() -> Path | None:
    for path in (*_bundled_openblas(), *OPENBLAS_CANDIDATES):
        if path.exists():
            try:
                library = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                continue
            _single_threaded(library)
            return path
    return None


def _single_threaded(library: ctypes.CDLL) -> None:
    """One BLAS thread for MLX. Its products are the decoder's small ones (the encoder runs in
    numpy, with numpy's own BLAS threads), where a second thread gains little and, whenever
    the other core is busy, spin-waits: decoder steps then took 3-4x longer here."""
    set_threads = getattr(library, "openblas_set_num_threads", None)
    if set_threads is not None:
        set_threads(1)
