"""PyInstaller runtime hook: a stand-in for numba, which the bundle leaves out.

mlx_whisper.timing imports numba only to JIT-compile its word-alignment DTW (two small loops).
numba with llvmlite is about 175 MB, more than the rest of the engine together, so the app
runs those functions as plain Python instead: ``jit`` returns the function unchanged. They
only run where our C extension is missing: the engine aligns words with its own time warping
(``vector_kernels.dtw``, about a millisecond a window; plain Python took 0.1 s).
"""

import sys
import types


def _jit(*args, **_options):
    if len(args) == 1 and callable(args[0]):  # @numba.jit
        return args[0]
    return lambda function: function  # @numba.jit(nopython=True, ...)


if "numba" not in sys.modules:
    _numba = types.ModuleType("numba")
    _numba.jit = _jit
    _numba.njit = _jit
    _numba.__version__ = "0+stenogram-stand-in"
    sys.modules["numba"] = _numba
