"""A weight matrix held in fp16 and multiplied in fp32: the CPU decoder's products.

A decoder step multiplies a few rows by every weight of the decoder and the whole token
embedding, so its speed on a CPU is the speed of reading the weights from memory (117 MB a
step for tiny.en in fp32, 212 MB for base, far beyond the cache). Whisper's weights are fp16
(the model store keeps them so), and fp16 -> fp32 is exact: holding them in fp16 halves what
a step reads and loses nothing but the order of the sums, as any BLAS changes it (a model
stored in fp32 is rounded to fp16, as a Mac's GPU runs it anyway). numpy has
no fp16 product worth the name, so ``half_matmul.c`` (built by setup.py) does it: column
tiles read once per call whatever the rows, in AVX-512 or AVX2, split over the cores. Where
it is not built or the CPU lacks those (``available()`` says), callers keep fp32 numpy.
"""

from __future__ import annotations

import ctypes
import logging

import numpy as np

from stenogram.core.c_extensions import LazyExtension
from stenogram.core.cpu_threads import split_rows

log = logging.getLogger(__name__)

DISABLE_ENV = "STENOGRAM_HALF_MATMUL"  # "0" keeps fp32 numpy products (to compare)
MIN_SPLIT_WORK = 10_000_000  # multiply-adds of one product worth splitting over the cores
_P = ctypes.c_void_p
_N = ctypes.c_ssize_t



def available() -> bool:
    """Whether fp16 products run here (the kernel is built and the CPU has its instructions)."""
    return _kernel() is not None


def best_isa() -> int:
    """2 for AVX-512, 1 for AVX2, 0 where the kernel cannot run."""
    kernel = _kernel()
    return kernel[2] if kernel else 0


class HalfMatrix:
    """A (k, n) matrix of fp16 weights, for ``x @ matrix`` with fp32 ``x`` of any leading shape.

    Held as column tiles (n_tiles, k, tile), each contiguous: the kernel's layout. ``isa``
    picks the kernel's instructions (tests run each); None is the best this CPU has.
    """

    __array_ufunc__ = None  # numpy then hands ``ndarray @ HalfMatrix`` to __rmatmul__

    def __init__(self, weights: np.ndarray, isa: int | None = None) -> None:
        kernel = _kernel()
        if kernel is None:
            raise RuntimeError("fp16 products are not available here (see half_matrix.available)")
        self._lib, tile, best = kernel
        self.isa = best if isa is None else isa
        if not 1 <= self.isa <= best:
            raise ValueError(f"instruction set {self.isa} is not one this CPU runs (best: {best})")
        k, n = weights.shape
        self.shape = (k, n)
        n_tiles = -(-n // tile)
        padded = np.zeros((k, n_tiles * tile), dtype=np.float16)
        padded[:, :n] = weights
        self.tiles = np.ascontiguousarray(padded.reshape(k, n_tiles, tile).transpose(1, 0, 2))
        self._tile = tile

    @property
    def nbytes(self) -> int:
        return self.tiles.nbytes

    def __rmatmul__(self, x: np.ndarray) -> np.ndarray:
        k, n = self.shape
        x = np.asarray(x)
        if x.shape[-1] != k:
            raise ValueError(f"cannot multiply {x.shape} by a ({k}, {n}) matrix")
        rows = np.ascontiguousarray(x.reshape(-1, k), dtype=np.float32)
        out = np.empty((len(rows), n), dtype=np.float32)
        if len(rows):
            self._multiply(rows, out)
        return out.reshape(*x.shape[:-1], n)

    def take_columns(self, index: np.ndarray) -> np.ndarray:
        """The columns ``index`` (any shape) in fp32, each as a row: (*index.shape, k)."""
        index = np.asarray(index)
        return self.tiles[index // self._tile, :, index % self._tile].astype(np.float32)

    def _multiply(self, rows: np.ndarray, out: np.ndarray) -> None:
        k, n = self.shape

        def work(start: int, stop: int) -> None:
            status = self._lib.half_matmul(self.isa, rows.ctypes.data, len(rows), k,
                                           self.tiles.ctypes.data, n, start, stop, out.ctypes.data)
            if status != 0:
                raise RuntimeError(f"half_matmul refused instruction set {self.isa}")

        # a hand-off to another thread (Python's pool) costs 0.05-0.1 ms, what one thread does
        # in 2-4M multiply-adds: a block's products for 15 beam rows ran 3x slower split
        parts = None if len(rows) * k * n >= MIN_SPLIT_WORK else 1
        split_rows(len(self.tiles), work, parts=parts, row_size=len(rows) * k * self._tile)


def _configure(lib: ctypes.CDLL) -> tuple[ctypes.CDLL, int, int] | None:
    """(the library, its tile width, its best instruction set), or None where it cannot run."""
    lib.half_matmul.argtypes = [ctypes.c_int, _P, _N, _N, _P, _N, _N, _N, _P]
    lib.half_matmul.restype = ctypes.c_int
    isa = lib.half_matmul_isa()
    if isa < 1:
        log.info("fp16 products: this CPU has neither AVX-512 nor AVX2 with F16C")
        return None
    return lib, lib.half_matmul_tile(), isa


_kernel = LazyExtension("_half_matmul", DISABLE_ENV, "fp16 products", _configure)
