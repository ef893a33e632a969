"""MLX's decoder's last product, hidden state x vocabulary, on numpy's BLAS (CPU backend only).

On a CPU the token loops run on ``cpu_decoder``; MLX's decoder still serves the word aligner,
language detection and the sampled fallback temperatures, and this keeps those fast.

Every decoder step ends by projecting each row onto all 51,864 tokens: a read of the whole
embedding matrix (80 MB for tiny, 106 MB for base in fp32) for a few rows of arithmetic, so
its speed is memory bandwidth. MLX's CPU backend runs it on one thread (its BLAS is kept
single-threaded, see ``mlx_runtime``) and, through ``weight.T``, at 14.6 ms a step for one
row of tiny.en here; numpy's multi-threaded OpenBLAS reads the same matrix, in place, in
2.8 ms (9.9 ms against 16.7 for 8 rows). That was three quarters of a decoder step.
On a Metal GPU the projection stays in MLX.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
import mlx.nn as nn  # noqa: E402


class NumpyVocabProjection(nn.Embedding):
    """A token embedding whose ``as_linear`` (tied output projection) runs in numpy."""

    _numpy_weight: np.ndarray

    def as_linear(self, x: mx.array) -> mx.array:
        hidden = np.asarray(x, dtype=np.float32)  # evaluates the step up to here
        flat = hidden.reshape(-1, hidden.shape[-1]) @ self._numpy_weight.T
        return mx.array(flat.reshape(*hidden.shape[:-1], flat.shape[-1]))


def project_vocabulary_in_numpy(model: Any) -> None:
    """Switch a loaded fp32 model's decoder to the numpy projection (weights shared, not copied)."""
    embedding = model.decoder.token_embedding
    mx.eval(embedding.weight)
    embedding.__class__ = NumpyVocabProjection
    embedding._numpy_weight = np.asarray(embedding.weight)
