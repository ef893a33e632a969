"""Cross-attention whose keys and values are laid out once per window, not once per token.

mlx-whisper caches the cross-attention keys and values, but splits them into heads,
transposes and scales them again at every decoder step: for each row and layer that is
1,500 x n_state values touched per token, more than the rest of the step on a CPU, and it
grows with the batch. Here the cache holds them already split, transposed and scaled, so a
step only multiplies by them. The arithmetic is the same, value for value.

The cache holds one set per audio. When there are more query rows than audios (the beams of a
beam search), each audio's rows are stacked into one product against its keys, so the beams
share one copy instead of reading five (``group`` rows per audio, in order). Only beam search
decodes that way, and it reads no attention weights, so none are returned then; on a CPU its
softmax runs in numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
from mlx_whisper.whisper import MultiHeadAttention  # noqa: E402


class PreparedCrossAttention(MultiHeadAttention):
    """A decoder block's cross-attention with its cache in the layout the products want."""

    def __call__(self, x: mx.array, xa: mx.array | None = None, mask: Any = None, kv_cache: Any = None):
        keys, values = kv_cache if kv_cache is not None else self._prepare(xa)
        n_batch, n_ctx, n_state = x.shape
        n_audio = keys.shape[0]
        if n_batch != n_audio:
            return self._shared(x, keys, values), (keys, values), None
        head = n_state // self.n_head
        q = self.query(x).reshape(n_batch, n_ctx, self.n_head, head).transpose(0, 2, 1, 3)
        qk = (q * head**-0.25) @ keys
        weights = mx.softmax(qk, axis=-1, precise=True)
        out = (weights @ values).transpose(0, 2, 1, 3).reshape(n_batch, n_ctx, n_state)
        return self.out(out), (keys, values), qk

    def _shared(self, x: mx.array, keys: mx.array, values: mx.array) -> mx.array:
        """Several rows per audio (its beams, in order): one product per audio and head."""
        n_batch, n_ctx, n_state = x.shape
        n_audio = keys.shape[0]
        group, head = n_batch // n_audio, n_state // self.n_head
        if group * n_audio != n_batch:
            raise ValueError(f"{n_batch} query rows do not divide among {n_audio} audios")
        q = self.query(x).reshape(n_audio, group, n_ctx, self.n_head, head)
        q = q.transpose(0, 3, 1, 2, 4).reshape(n_audio, self.n_head, group * n_ctx, head)
        weights = _softmax((q * head**-0.25) @ keys)
        out = (weights @ values).reshape(n_audio, self.n_head, group, n_ctx, head)
        return self.out(out.transpose(0, 2, 3, 1, 4).reshape(n_batch, n_ctx, n_state))

    def _prepare(self, xa: mx.array) -> tuple[mx.array, mx.array]:
        n_batch, n_frames, n_state = xa.shape
        head = n_state // self.n_head
        keys = self.key(xa).reshape(n_batch, n_frames, self.n_head, head).transpose(0, 2, 3, 1)
        values = self.value(xa).reshape(n_batch, n_frames, self.n_head, head).transpose(0, 2, 1, 3)
        return mx.contiguous(keys * head**-0.25), mx.contiguous(values)


def _softmax(scores: mx.array) -> mx.array:
    """Softmax over the frames; in numpy on a CPU, whose vectorised exp is ~4x faster than
    MLX's element-at-a-time one here (5 beams x heads x 1,500 frames a layer and step)."""
    if scores.dtype != mx.float32 or mx.default_device() != mx.cpu:
        return mx.softmax(scores, axis=-1, precise=True)
    weights = np.array(scores)
    weights -= weights.max(axis=-1, keepdims=True)
    np.exp(weights, out=weights)
    weights /= weights.sum(axis=-1, keepdims=True)
    return mx.array(weights)


def prepare_cross_attention(model: Any) -> None:
    """Switch every decoder block of a loaded mlx_whisper model to the prepared layout."""
    for block in model.decoder.blocks:
        if block.cross_attn is not None:
            block.cross_attn.__class__ = PreparedCrossAttention
