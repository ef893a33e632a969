"""Whisper's audio encoder in numpy, for the CPU backend only.

On a CPU, MLX computes transcendental functions one element at a time (about 18 ns for an
``exp`` here, against under 1 ns in numpy's vectorised loops), and the encoder's softmax and
GELU are most of its time. This module runs the same encoder, weight for weight, with numpy's
vectorised ``exp`` and numpy's own BLAS: the same function to within float32 rounding, about
twice as fast. On a Mac the GPU runs MLX's own encoder; this is never
used there (see ``WhisperRuntime``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

LAYER_NORM_EPS = 1e-5  # mlx.nn.LayerNorm's default, as Whisper's
GELU_ROWS = 256  # rows of activations per GELU pass: temporaries of ~2 MB for base
_SQRT_HALF = np.float32(0.7071067811865476)
# erfc(z) ~= t * exp(-z*z + P(t)), t = 1 / (1 + z/2), z >= 0: the Chebyshev fit of Numerical
# Recipes (erfcc), relative error under 1.2e-7 everywhere. Coefficients of t^0 .. t^9.
_ERFC_COEFFS = tuple(
    np.float32(c)
    for c in (
        -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
        0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
    )
)


def _np(array: Any) -> np.ndarray:
    """A float32 MLX array as numpy, sharing its memory (no copy) where it is contiguous."""
    return np.ascontiguousarray(np.asarray(array), dtype=np.float32)


class _Block:
    def __init__(self, block: Any) -> None:
        attn = block.attn
        self.n_head = attn.n_head
        self.ln1 = (_np(block.attn_ln.weight), _np(block.attn_ln.bias))
        self.q = (_np(attn.query.weight).T, _np(attn.query.bias))
        self.k = _np(attn.key.weight).T
        self.v = (_np(attn.value.weight).T, _np(attn.value.bias))
        self.out = (_np(attn.out.weight).T, _np(attn.out.bias))
        self.ln2 = (_np(block.mlp_ln.weight), _np(block.mlp_ln.bias))
        self.mlp1 = (_np(block.mlp1.weight).T, _np(block.mlp1.bias))
        self.mlp2 = (_np(block.mlp2.weight).T, _np(block.mlp2.bias))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = x + self._attention(_layer_norm(x, *self.ln1))
        h = _layer_norm(x, *self.ln2) @ self.mlp1[0]
        h += self.mlp1[1]  # in place: h is the widest array of the encoder (n_ctx x 4 n_state)
        return x + _gelu(h) @ self.mlp2[0] + self.mlp2[1]

    def _attention(self, x: np.ndarray) -> np.ndarray:
        n_ctx, n_state = x.shape
        d = n_state // self.n_head
        scale = np.float32(d**-0.25)
        q = (x @ self.q[0] + self.q[1]) * scale
        k = (x @ self.k) * scale
        v = x @ self.v[0] + self.v[1]
        heads = np.empty_like(q)
        for h in range(self.n_head):  # one head at a time: a 1500 x 1500 matrix, not six
            cols = slice(h * d, (h + 1) * d)
            weights = _softmax_inplace(q[:, cols] @ k[:, cols].T)
            heads[:, cols] = weights @ v[:, cols]
        return heads @ self.out[0] + self.out[1]


class NumpyEncoder:
    """The encoder of a loaded mlx_whisper model, evaluated with numpy on its (shared) weights."""

    def __init__(self, encoder: Any) -> None:
        self.conv1 = (_conv_matrix(encoder.conv1.weight), _np(encoder.conv1.bias))
        self.conv2 = (_conv_matrix(encoder.conv2.weight), _np(encoder.conv2.bias))
        self.positions = _np(encoder._positional_embedding)
        self.blocks = [_Block(b) for b in encoder.blocks]
        self.ln_post = (_np(encoder.ln_post.weight), _np(encoder.ln_post.bias))

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        """Audio features (n_frames / 2, n_state) of one (n_frames, n_mels) log-Mel window.

        A full window is 3000 frames; a shorter one (see ``encoder_input``) gets the first
        positions of the embedding, as the start of a full window would.
        """
        x = _gelu(_conv3(np.asarray(mel, dtype=np.float32), *self.conv1, stride=1))
        x = _gelu(_conv3(x, *self.conv2, stride=2))
        x = x + self.positions[: len(x)]
        for block in self.blocks:
            x = block(x)
        return _layer_norm(x, *self.ln_post)


def _conv_matrix(weight: Any) -> np.ndarray:
    """An MLX Conv1d weight (out, kernel, in) as a matrix over stacked input frames."""
    w = _np(weight)
    return w.reshape(w.shape[0], -1).T


def _conv3(x: np.ndarray, matrix: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """A kernel-3, padding-1 convolution over time: frames t-1, t, t+1 side by side."""
    padded = np.pad(x, ((1, 1), (0, 0)))
    n_out = (len(x) - 1) // stride + 1
    taps = [padded[k : k + stride * (n_out - 1) + 1 : stride] for k in range(3)]
    out = np.concatenate(taps, axis=1) @ matrix
    out += bias
    return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + np.float32(LAYER_NORM_EPS)) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, x * Phi(x), in numpy alone: the bundle leaves scipy out (90 MB).

    Computed in place (``x`` is overwritten and returned) and GELU_ROWS rows at a time, so its
    temporaries are a few MB, not six copies of the encoder's widest array (70 MB for base);
    each element gets the same operations as on the whole array, so the same bits.
    """
    for start in range(0, len(x), GELU_ROWS):
        _gelu_inplace(x[start : start + GELU_ROWS])
    return x


def _gelu_inplace(x: np.ndarray) -> None:
    """Phi comes from erfc of |x| so that it keeps its relative precision for negative x,
    where 1 + erf(x) cancels; no slower here than scipy's float32 erf."""
    z = np.abs(x)
    z *= _SQRT_HALF
    t = np.float32(0.5) * z
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = np.full_like(t, _ERFC_COEFFS[-1])
    for c in _ERFC_COEFFS[-2::-1]:
        poly *= t
        poly += c
    z *= z
    poly -= z
    np.exp(poly, out=poly)
    poly *= t
    poly *= np.float32(0.5)  # the tail P(X > |x|) of a standard normal
    np.subtract(np.float32(1.0), poly, out=poly, where=x >= 0)  # Phi(x) = 1 - tail for x >= 0
    x *= poly


def _softmax_inplace(scores: np.ndarray) -> np.ndarray:
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores
