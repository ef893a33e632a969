"""PyInstaller runtime hook: a stand-in for the one piece of scipy the app reaches, medfilt.

scipy (with its own OpenBLAS, about 75 MB) is left out of the bundle: our code uses numpy
alone (core/cpu_encoder.py, core/clustering.py). mlx_whisper still imports ``scipy.signal``
in ``mlx_whisper.timing``, which its ``__init__`` loads, for one call: a median filter along
the last axis of the cross-attention weights when word timestamps are asked for. This gives
``scipy.signal.medfilt`` for that case, in numpy; where the real scipy is installed (the
development setup), nothing changes.
"""

import importlib.util
import sys
import types


def medfilt(volume, kernel_size=None):
    """scipy.signal.medfilt for a kernel that spans the last axis only (odd width, zero-padded)."""
    import numpy as np  # here, not at start-up: most runs never align words

    volume = np.asarray(volume)
    if kernel_size is None:
        kernel_size = 3
    sizes = np.broadcast_to(np.asarray(kernel_size), (volume.ndim,))
    width = int(sizes[-1])
    if any(int(s) != 1 for s in sizes[:-1]) or width % 2 == 0:
        raise NotImplementedError("The bundle's medfilt filters along the last axis, odd widths.")
    if width == 1:
        return volume.copy()
    half = width // 2
    padded = np.pad(volume, [(0, 0)] * (volume.ndim - 1) + [(half, half)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=-1)
    return np.median(windows, axis=-1).astype(volume.dtype, copy=False)


def _install():
    scipy = types.ModuleType("scipy")
    scipy.__version__ = "0+stenogram-stand-in"
    scipy.__path__ = []  # a package, so that `from scipy import signal` finds the attribute
    signal = types.ModuleType("scipy.signal")
    signal.medfilt = medfilt
    scipy.signal = signal
    sys.modules["scipy"] = scipy
    sys.modules["scipy.signal"] = signal


if importlib.util.find_spec("scipy") is None:
    _install()
