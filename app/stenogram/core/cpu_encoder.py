"""Whisper's audio encoder in numpy, for the CPU backend only.

On a CPU, MLX computes transcendental functions one element at a time (about 18 ns for an
``exp`` here, against under 1 ns in numpy's vectorised loops), and the encoder's softmax and
GELU are most of its time. This module runs the same encoder, weight for weight, with numpy's
vectorised ``exp`` and numpy's own BLAS: the same function to within float32 rounding. The work
is split by rows over the cores (see ``cpu_threads``): the convolutions and projections by
output row, attention and the MLP by query row, a few hundred rows at a time so that a chunk's
attention weights and hidden activations stay in the core's cache. On a Mac the GPU runs MLX's
own encoder; this is never used there (see ``WhisperRuntime``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core import vector_kernels
from stenogram.core.cpu_threads import single_threaded_blas, split_rows, thread_count

LAYER_NORM_EPS = 1e-5  # mlx.nn.LayerNorm's default, as Whisper's
QUERY_ROWS = 750  # positions per attention-and-MLP chunk: bigger ones measured faster, despite L2
GELU_CHUNK = 65536  # elements per GELU pass: it and its 3 temporaries (256 KB each) stay in L2
# Scores at most this large may skip softmax's max subtraction: e^60 (1e26) summed over 1500
# keys and times values stays far inside float32's range (3e38). Whisper's scores stay under ~60.
EXP_SAFE_SCORE = 60.0
# a * P(X > a) for a standard normal X, a >= 0, is exp(-a*a/2) * a * sum_k c_k t^(k+1) with
# t = 1 / (1 + p a): a minimax fit of the relative error, under 8.2e-8 for a <= 6 (and 1e-4 up
# to 13, where the term no longer shows in GELU's result). Evaluated in float32, GELU's relative
# error stays under 1.4e-6 (the erfc fit this replaced: 4.3e-6), set by the rounding of exp's argument.
_TAIL_P = np.float32(0.25550914263154223)
_TAIL_COEFFS = tuple(
    np.float32(c)
    for c in (
        0.10125075110163022, 0.11085527070270948, 0.046155796098905105, 0.22893688269264217,
        -0.1914733568453606, 0.2883799462032807, -0.08410536419896963,
    )
)


def _np(array: Any) -> np.ndarray:
    """A float32 MLX array as numpy, sharing its memory (no copy) where it is contiguous."""
    return np.ascontiguousarray(np.asarray(array), dtype=np.float32)


class _Block:
    def __init__(self, block: Any) -> None:
        attn = block.attn
        self.n_head = attn.n_head
        self.ln1 = _norm(block.attn_ln)
        self.q, self.v, self.out = _linear(attn.query), _linear(attn.value), _linear(attn.out)
        self.k = _np(attn.key.weight).T
        self.ln2 = _norm(block.mlp_ln)
        self.mlp1, self.mlp2 = _linear(block.mlp1), _linear(block.mlp2)

    def __call__(self, x: np.ndarray, parts: int = 1) -> np.ndarray:
        """The block's output, written over ``x`` (the encoder's own array), in ``parts`` threads."""
        qkv = np.empty((3, *x.shape), dtype=np.float32)
        split_rows(len(x), lambda start, stop: self.project(x, qkv, start, stop), parts)
        key_bound = _head_norms(qkv[1], self.n_head).max(axis=0)
        split_rows(len(x), lambda start, stop: self.finish(x, qkv, key_bound, start, stop), parts)
        return x

    def project(self, x: np.ndarray, qkv: np.ndarray, start: int, stop: int) -> None:
        """Queries, keys and values of rows start:stop (queries scaled for the scores)."""
        q, k, v = (a[start:stop] for a in qkv)
        normed = _layer_norm(x[start:stop], *self.ln1)
        np.matmul(normed, self.q[0], out=q)
        q += self.q[1]
        # Whisper scales q and k by d^-1/4 each; q alone by d^-1/2 is one pass less (exact for d=64)
        q *= np.float32((x.shape[1] // self.n_head) ** -0.5)
        np.matmul(normed, self.k, out=k)
        np.matmul(normed, self.v[0], out=v)
        v += self.v[1]

    def finish(self, x: np.ndarray, qkv: np.ndarray, key_bound: np.ndarray, start: int,
               stop: int) -> None:
        """Attention and MLP of rows start:stop, added to them, QUERY_ROWS at a time."""
        scores = np.empty((min(QUERY_ROWS, stop - start), qkv.shape[1]), dtype=np.float32)
        for first in range(start, stop, QUERY_ROWS):
            rows = slice(first, min(first + QUERY_ROWS, stop))
            out = self._attention(qkv, key_bound, rows, scores) @ self.out[0]
            out += self.out[1]
            x[rows] += out
            hidden = _layer_norm(x[rows], *self.ln2) @ self.mlp1[0]
            hidden += self.mlp1[1]
            out = _gelu(hidden) @ self.mlp2[0]
            out += self.mlp2[1]
            x[rows] += out

    def _attention(self, qkv: np.ndarray, key_bound: np.ndarray, rows: slice,
                   scores: np.ndarray) -> np.ndarray:
        q, k, v = qkv[0, rows], qkv[1], qkv[2]
        d = q.shape[1] // self.n_head
        scores = scores[: len(q)]
        sums = np.empty((len(q), 1), dtype=np.float32)
        heads = np.empty_like(q)
        # |score| <= |q| |k|: where no score can overflow exp, softmax needs no max subtracted
        safe = _head_norms(q, self.n_head).max(axis=0) * key_bound <= np.float32(EXP_SAFE_SCORE**2)
        for h in range(self.n_head):
            cols = slice(h * d, (h + 1) * d)
            np.matmul(q[:, cols], k[:, cols].T, out=scores)
            if vector_kernels.available():  # one vectorised pass: numpy's exp is scalar-speed
                vector_kernels.exp_rows(scores, not safe[h], sums[:, 0])
            else:
                if not safe[h]:
                    scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                np.sum(scores, axis=-1, out=sums[:, 0])
            # normalising the 64 columns of the result is cheaper than the 1500 of the weights
            np.matmul(scores, v[:, cols], out=heads[:, cols])
            heads[:, cols] /= sums
        return heads


class NumpyEncoder:
    """The encoder of a loaded mlx_whisper model, evaluated with numpy on its (shared) weights."""

    def __init__(self, encoder: Any) -> None:
        self.conv1 = (_conv_matrix(encoder.conv1.weight), _np(encoder.conv1.bias))
        self.conv2 = (_conv_matrix(encoder.conv2.weight), _np(encoder.conv2.bias))
        self.positions = _np(encoder._positional_embedding)
        self.blocks = [_Block(b) for b in encoder.blocks]
        self.ln_post = _norm(encoder.ln_post)

    def __call__(self, mel: np.ndarray, threads: int | None = None) -> np.ndarray:
        """Audio features (n_frames / 2, n_state) of one (n_frames, n_mels) log-Mel window.

        A full window is 3000 frames; a shorter one (see ``encoder_input``) gets the first
        positions of the embedding, as the start of a full window would. ``threads`` (default:
        one per core) split the rows; with one, numpy's BLAS threads alone use the other cores.
        """
        mel = np.asarray(mel, dtype=np.float32)
        parts = thread_count() if threads is None else threads
        if parts <= 1:  # BLAS's own threads use the cores; the rest runs on this thread
            return self._encode(mel, 1)
        with single_threaded_blas() as blas_single:
            return self._encode(mel, parts if blas_single else 1)

    def _encode(self, mel: np.ndarray, parts: int) -> np.ndarray:
        n_state = self.positions.shape[1]
        # conv1's output with a zero row either side: conv2's padding, without a copy
        hidden = np.zeros((len(mel) + 2, n_state), dtype=np.float32)
        x = np.empty(((len(mel) - 1) // 2 + 1, n_state), dtype=np.float32)

        def conv1(start: int, stop: int) -> None:
            out = hidden[start + 1 : stop + 1]
            _conv3(mel, *self.conv1, stride=1, start=start, stop=stop, out=out)
            _gelu(out)

        def conv2(start: int, stop: int) -> None:
            out = x[start:stop]
            _conv3(hidden, *self.conv2, stride=2, start=start, stop=stop, out=out, padded=True)
            _gelu(out)
            out += self.positions[start:stop]

        split_rows(len(mel), conv1, parts)
        split_rows(len(x), conv2, parts)
        for block in self.blocks:
            x = block(x, parts)
        return _layer_norm(x, *self.ln_post)


def _linear(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """An MLX Linear layer as (its weight transposed, a view: x @ it; its bias)."""
    return _np(layer.weight).T, _np(layer.bias)


def _norm(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """An MLX LayerNorm's weight and bias."""
    return _np(layer.weight), _np(layer.bias)


def _conv_matrix(weight: Any) -> np.ndarray:
    """An MLX Conv1d weight (out, kernel, in) as a matrix over stacked input frames."""
    w = _np(weight)
    return w.reshape(w.shape[0], -1).T


def _conv3(x: np.ndarray, matrix: np.ndarray, bias: np.ndarray, stride: int, start: int = 0,
           stop: int | None = None, out: np.ndarray | None = None,
           padded: bool = False) -> np.ndarray:
    """Output rows start:stop of a kernel-3, padding-1 convolution over time: input frames
    t-1, t, t+1 side by side, times the kernel. ``padded``: x has its zero rows already."""
    if not padded:
        x = np.pad(x, ((1, 1), (0, 0)))
    if stop is None:
        stop = (len(x) - 3) // stride + 1
    first, last = stride * start, stride * (stop - 1)
    taps = np.concatenate([x[first + k : last + k + 1 : stride] for k in range(3)], axis=1)
    out = np.matmul(taps, matrix, out=out)
    out += bias
    return out


def _head_norms(x: np.ndarray, n_head: int) -> np.ndarray:
    """(rows, heads): the squared norm of each row's slice for each head."""
    by_head = x.reshape(len(x), n_head, -1)
    return np.einsum("rhd,rhd->rh", by_head, by_head)


def _softmax_inplace(scores: np.ndarray) -> np.ndarray:
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Layer norm over the last axis, as a new array."""
    if vector_kernels.available() and x.dtype == np.float32 and x.shape[-1] % 16 == 0:
        return vector_kernels.layer_norm(x, weight, bias, LAYER_NORM_EPS)  # one pass a row, in C
    out = np.empty(x.shape, dtype=np.result_type(x.dtype, weight.dtype))
    rows_in = x.reshape(-1, x.shape[-1])  # a view where x is contiguous, else a copy to read
    rows_out = out.reshape(rows_in.shape)
    eps = np.float32(LAYER_NORM_EPS)

    def work(start: int, stop: int) -> None:
        rows = rows_in[start:stop]
        centred = rows_out[start:stop]
        np.subtract(rows, rows.mean(axis=-1, keepdims=True), out=centred)
        scale = np.einsum("ij,ij->i", centred, centred)[:, None]
        scale /= np.float32(rows.shape[-1])
        scale += eps
        np.sqrt(scale, out=scale)
        centred /= scale
        centred *= weight
        centred += bias

    split_rows(len(rows_in), work, row_size=rows_in.shape[-1])
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, x * Phi(x), in numpy alone: the bundle leaves scipy out (90 MB).

    Computed in place (``x`` is overwritten and returned), GELU_CHUNK elements at a time, so
    its temporaries are a few hundred KB, not copies of the encoder's widest array (70 MB for
    base), and stay in the core's cache.
    """
    if not (x.flags.c_contiguous and x.dtype == np.float32):
        x[...] = _gelu(np.ascontiguousarray(x, dtype=np.float32))
        return x
    if vector_kernels.available():  # the same function in C, vectorised
        vector_kernels.gelu(x)
        return x
    flat = x.reshape(-1)
    row_size = x.shape[-1] if x.ndim > 1 else 1

    def work(start: int, stop: int) -> None:
        part = flat[start * row_size : stop * row_size]
        scratch = np.empty((3, min(GELU_CHUNK, len(part))), dtype=np.float32)
        for first in range(0, len(part), GELU_CHUNK):
            chunk = part[first : first + GELU_CHUNK]
            _gelu_inplace(chunk, *(s[: len(chunk)] for s in scratch))

    split_rows(len(flat) // row_size, work, row_size=row_size)
    return x


def _gelu_inplace(x: np.ndarray, a: np.ndarray, t: np.ndarray, tail: np.ndarray) -> None:
    """GELU(x) = max(x, 0) - |x| P(X > |x|): the tail keeps its relative precision for
    negative x, where x * (1 + erf(x)) / 2 cancels, and needs no branch on the sign."""
    np.abs(x, out=a)
    np.multiply(a, _TAIL_P, out=t)
    t += np.float32(1.0)
    np.divide(np.float32(1.0), t, out=t)
    np.multiply(t, _TAIL_COEFFS[-1], out=tail)
    for c in _TAIL_COEFFS[-2::-1]:
        tail += c
        tail *= t
    np.multiply(a, np.float32(-0.5), out=t)
    t *= a
    np.exp(t, out=t)
    tail *= t
    tail *= a  # |x| P(X > |x|)
    np.maximum(x, np.float32(0.0), out=x)
    x -= tail
