"""The CPU backend's attention, token choice, exp and GELU in C (``vector_kernels.c``).

A decoder step of 15-30 beam rows spent most of its time outside the weight products: numpy
runs the attention as one small BLAS call per (row, head) pair and a softmax whose ``exp``
runs at about 0.7 ns an element here, and the beams' log-softmax over 51,864 tokens a row is
an ``exp`` too; the encoder's softmax and GELU are exp-bound the same way. Each is one pass
here, vectorised (AVX-512), split over the cores where it is big enough. Where the extension
is not built or the CPU lacks AVX-512 (``available()`` says), callers keep their numpy code;
both are tested against each other.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from stenogram.core.c_extensions import LazyExtension
from stenogram.core.cpu_threads import split_rows

DISABLE_ENV = "STENOGRAM_VECTOR_KERNELS"  # "0" keeps numpy (to compare)
HEAD_DIM = 64  # the kernels take attention heads of this width: every Whisper model's
SPLIT_ROWS = 8  # rows of logits from which their top tokens are found on every core
GELU_ROW = 4096  # elements per unit of GELU work handed to a thread
SPLIT_NORM_ROWS = 256  # rows from which a layer norm is split over the cores
_P = ctypes.c_void_p
_N = ctypes.c_ssize_t



def available() -> bool:
    """Whether the kernels run here (built, and the CPU has AVX-512)."""
    kernels = _kernels()
    return kernels is not None and kernels[2]


def dtw_available() -> bool:
    """Whether ``dtw`` runs here: plain C, wherever the extension is built."""
    return _kernels() is not None


def key_tile() -> int:
    """Frames per tile of the keys' layout (``tiled_keys``)."""
    kernels = _kernels()
    if kernels is None:
        raise RuntimeError("the vector kernels are not available here (see vector_kernels.available)")
    return kernels[1]


def tiled_keys(keys: np.ndarray) -> np.ndarray:
    """Keys (audio, frames, heads, d) in the kernel's layout (audio, heads, tiles, d, tile): each
    tile's frames side by side, so a tile is read once as one stream (zero-padded frames)."""
    n_audio, n_frames, heads, d = keys.shape
    tile = key_tile()
    n_tiles = -(-n_frames // tile)
    padded = np.zeros((n_audio, heads, n_tiles * tile, d), dtype=np.float32)
    padded[:, :, :n_frames] = keys.transpose(0, 2, 1, 3)
    return np.ascontiguousarray(padded.reshape(n_audio, heads, n_tiles, tile, d).transpose(0, 1, 2, 4, 3))


def cross_attend(q: np.ndarray, keys: np.ndarray, values: np.ndarray, audio: np.ndarray,
                 raw_scores: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Attention of ``q`` (audio, rows of it, heads, d; scaled) over each audio's frames.

    ``keys`` as ``tiled_keys`` lays them out and ``values`` (audio, heads, frames, d) may hold
    more audios than ``q``: ``audio`` says which one each of q's reads. Returns the output
    (audio, rows, heads, d) and, when asked, the scores before their softmax
    (audio, heads, rows, frames).
    """
    lib = _library()
    q = np.ascontiguousarray(q, dtype=np.float32)
    n_audio, group, heads, d = q.shape
    n_keys, n_frames = values.shape[0], values.shape[2]
    audio = np.ascontiguousarray(audio, dtype=np.int64)
    n_tiles = -(-n_frames // key_tile())
    _require(_is_c_float32(keys, values) and values.shape == (n_keys, heads, n_frames, d)
             and keys.shape == (n_keys, heads, n_tiles, d, key_tile()) and audio.shape == (n_audio,)
             and (n_audio == 0 or 0 <= audio.min() <= audio.max() < n_keys), "cross_attend")
    out = np.empty_like(q)
    raw = np.empty((n_audio, heads, group, n_frames), dtype=np.float32) if raw_scores else None
    raw_pointer = raw.ctypes.data if raw is not None else None

    def work(start: int, stop: int) -> None:
        _check(lib.cross_attend(q.ctypes.data, group, heads, d, keys.ctypes.data, values.ctypes.data,
                                audio.ctypes.data, n_frames, start, stop, out.ctypes.data, raw_pointer))

    split_rows(n_audio * heads, work, row_size=group * n_frames * d)
    return out, raw


SELF_ATTEND_SPLIT_ELEMENTS = 2_000_000  # keys and values read by a step worth two threads


@dataclass(frozen=True)
class SharedPrefix:
    """Keys and values every row of an audio reads before its own: the audio's prompt.

    ``keys`` as ``tiled_keys`` lays them out, ``values`` (audios, heads, capacity, d), their
    first ``length`` positions read; ``audios[a]``: the audio the a-th block of rows reads;
    ``firsts[row]``: the row's first position in it (its left padding skipped), or None: 0."""

    keys: np.ndarray
    values: np.ndarray
    length: int
    audios: np.ndarray
    firsts: np.ndarray | None = None


def self_attend(q: np.ndarray, keys: np.ndarray, values: np.ndarray, length: int,
                prefix: SharedPrefix | None = None) -> np.ndarray:
    """Attention of one new token per row, ``q`` (rows, heads, d; scaled), over its audio's
    ``prefix`` when given, then the first ``length`` positions of its row's own caches (rows,
    heads, capacity, d)."""
    lib = _library()
    q = np.ascontiguousarray(q, dtype=np.float32)
    rows, heads, d = q.shape
    _require(_is_c_float32(keys, values) and keys.shape == values.shape and keys.shape[:2] == (rows, heads)
             and keys.shape[3] == d, "self_attend")
    n_audio, group, shared = rows, 1, (None, None, 0, 0, None, None)
    prefix_length = 0
    if prefix is not None and prefix.length:
        audios = np.ascontiguousarray(prefix.audios, dtype=np.int64)
        firsts = None if prefix.firsts is None else np.ascontiguousarray(prefix.firsts, dtype=np.int64)
        n_audio, group = len(audios), rows // max(1, len(audios))
        pk, pv, prefix_length = prefix.keys, prefix.values, prefix.length
        tiles = -(-prefix_length // key_tile())
        _require(_is_c_float32(pk, pv) and pk.shape[1:] == (heads, tiles, d, key_tile())
                 and pv.shape[:2] == pk.shape[:2] and pv.shape[3] == d and 0 < prefix_length <= pv.shape[2]
                 and n_audio * group == rows and bool(np.all((audios >= 0) & (audios < len(pk))))
                 and (firsts is None or (firsts.shape == (rows,)
                                         and bool(np.all((firsts >= 0) & (firsts < prefix_length))))),
                 "self_attend")
        shared = (pk.ctypes.data, pv.ctypes.data, pv.shape[2], prefix_length, audios.ctypes.data,
                  None if firsts is None else firsts.ctypes.data)
    out = np.empty_like(q)

    def work(start: int, stop: int) -> None:
        _check(lib.self_attend(q.ctypes.data, d, heads, group, *shared, keys.ctypes.data, values.ctypes.data,
                               keys.shape[2], length, start, stop, out.ctypes.data))

    # Reading the caches runs at memory speed: split only where a step reads enough of them
    # (beams, a prompt) to pay a thread's hand-off (~55 us)
    read = (n_audio * prefix_length + rows * length) * heads * d * 2
    parts = None if read >= SELF_ATTEND_SPLIT_ELEMENTS else 1
    split_rows(n_audio * heads, work, parts=parts, row_size=(prefix_length + group * length) * d)
    return out


def logits_top(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's ``k`` largest logits (descending; equal ones by token id, lower first), their
    token ids, and the log of the row's softmax normaliser (log sum exp): ids (rows, k) int64,
    logits (rows, k), log totals (rows,). A logprob is a logit less its row's log total."""
    lib = _library()
    logits = np.ascontiguousarray(logits, dtype=np.float32)
    rows, n = logits.shape
    ids = np.empty((rows, k), dtype=np.int64)
    top = np.empty((rows, k), dtype=np.float32)
    log_totals = np.empty(rows, dtype=np.float32)

    def work(start: int, stop: int) -> None:
        _check(lib.logits_top(logits.ctypes.data, n, k, start, stop, ids.ctypes.data, top.ctypes.data,
                              log_totals.ctypes.data))

    # a few rows take less than handing some to another thread costs
    split_rows(rows, work, parts=None if rows >= SPLIT_ROWS else 1, row_size=n)
    return ids, top, log_totals


def exp_rows(x: np.ndarray, shifted: bool, sums: np.ndarray) -> None:
    """x (rows, n) = e^(x - the row's largest value), or e^x when not ``shifted`` (no value can
    overflow), in place, on this thread; ``sums`` (rows,) gets each row's sum."""
    lib = _library()
    _require(_is_c_float32(x, sums) and x.ndim == 2 and sums.shape == (len(x),), "exp_rows")
    _check(lib.exp_rows(x.ctypes.data, x.shape[-1], int(shifted), 0, len(x), sums.ctypes.data))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Layer norm over the last axis of float32 ``x`` (any leading shape), as a new array, its
    rows split over the cores when many."""
    lib = _library()
    rows_in = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, x.shape[-1])
    d = rows_in.shape[1]
    weight = np.ascontiguousarray(weight, dtype=np.float32)
    bias = np.ascontiguousarray(bias, dtype=np.float32)
    _require(weight.shape == bias.shape == (d,), "layer_norm")
    out = np.empty(rows_in.shape, dtype=np.float32)

    def work(start: int, stop: int) -> None:
        _check(lib.layer_norm(rows_in.ctypes.data, d, weight.ctypes.data, bias.ctypes.data, eps, start, stop,
                              out.ctypes.data))

    # a decoder step's few rows take microseconds: only the encoder's thousands are split
    split_rows(len(rows_in), work, parts=None if len(rows_in) >= SPLIT_NORM_ROWS else 1, row_size=d)
    return out.reshape(x.shape)


def gelu(x: np.ndarray) -> None:
    """x = GELU(x) in place (contiguous float32), the same function as ``cpu_encoder._gelu``'s
    numpy code, split over the cores when large."""
    lib = _library()
    _require(_is_c_float32(x), "gelu")
    flat = x.reshape(-1)

    def work(start: int, stop: int) -> None:
        _check(lib.gelu(flat.ctypes.data, start * GELU_ROW, min(stop * GELU_ROW, flat.size)))

    split_rows(-(-flat.size // GELU_ROW), work, row_size=GELU_ROW)


def dtw(x: np.ndarray) -> np.ndarray:
    """The word aligner's dynamic time warping, as mlx_whisper's ``dtw`` (numba, or plain
    Python in the app's bundle, which leaves numba out): the cheapest monotonic path through
    cost ``x`` (tokens, frames) as (2, steps) int64, token indices over frame indices.
    Plain Python took 0.1 s a window; here about a millisecond."""
    kernels = _kernels()
    if kernels is None:
        raise RuntimeError("the vector kernels are not built here (see vector_kernels.dtw_available)")
    x = np.ascontiguousarray(x, dtype=np.float32)
    n, m = x.shape
    path = np.empty((2, n + m), dtype=np.int64)
    length = kernels[0].dtw_path(x.ctypes.data, n, m, path[0].ctypes.data, path[1].ctypes.data)
    if length < 0:
        raise MemoryError("no memory for the word alignment's cost matrix")
    return np.ascontiguousarray(path[:, :length])


def _is_c_float32(*arrays: np.ndarray) -> bool:
    return all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays)


def _require(condition: bool, what: str) -> None:
    """The C reads what the shapes promise: a wrong one must stop here, not read out of bounds."""
    if not condition:
        raise ValueError(f"{what}: arrays of the wrong shape, type or layout for the kernel")


def _check(status: int) -> None:
    if status != 0:
        raise ValueError("the vector kernels refused these shapes (see vector_kernels.c)")


def _library() -> ctypes.CDLL:
    kernels = _kernels()
    if kernels is None or not kernels[2]:
        raise RuntimeError("the vector kernels are not available here (see vector_kernels.available)")
    return kernels[0]


def _configure(lib: ctypes.CDLL) -> tuple[ctypes.CDLL, int, bool]:
    """(the library, its key tile, whether its AVX-512 kernels run)."""
    lib.cross_attend.argtypes = [_P, _N, _N, _N, _P, _P, _P, _N, _N, _N, _P, _P]
    lib.self_attend.argtypes = [_P, _N, _N, _N, _P, _P, _N, _N, _P, _P, _P, _P, _N, _N, _N, _N, _P]
    lib.logits_top.argtypes = [_P, _N, ctypes.c_int, _N, _N, _P, _P, _P]
    lib.exp_rows.argtypes = [_P, _N, ctypes.c_int, _N, _N, _P]
    lib.gelu.argtypes = [_P, _N, _N]
    lib.layer_norm.argtypes = [_P, _N, _P, _P, ctypes.c_float, _N, _N, _P]
    for function in (lib.cross_attend, lib.self_attend, lib.logits_top, lib.exp_rows, lib.gelu, lib.layer_norm):
        function.restype = ctypes.c_int
    lib.dtw_path.argtypes = [_P, _N, _N, _P, _P]
    lib.dtw_path.restype = _N
    return lib, lib.vector_kernels_key_tile(), lib.vector_kernels_isa() >= 2


# None where the extension is not built (or switched off)
_kernels = LazyExtension("_vector_kernels", DISABLE_ENV, "vector kernels", _configure)
