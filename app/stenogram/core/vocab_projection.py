"""The token embedding on a CPU: held once, in numpy, in the layout its projection reads fastest.

Every decoder step ends by projecting each row onto all 51,864 tokens: a read of the whole
embedding matrix (80 MB for tiny, 106 MB for base in fp32) for a few rows of arithmetic, so
its speed is memory bandwidth. MLX's CPU backend runs it on one thread (its BLAS is kept
single-threaded, see ``mlx_runtime``) at 14.6 ms a step for one row of tiny.en here; numpy's
threaded OpenBLAS over a (n_state, n_vocab) array takes 2.0 ms, and 5.5 ms for 3-8 rows
(over MLX's (n_vocab, n_state) layout, transposed: 3.5 and 10 ms); held in fp16 for
``half_matrix``'s kernel, half the bytes, 1.2 and 1.7-3.5 ms. That one matrix serves
``cpu_decoder`` (every decode on a CPU: token loops, fallback samples, language detection,
the word aligner's pass); MLX's own copy is freed, and lookups and ``as_linear`` here keep
MLX's decoder working over it where its blocks are kept (no fp16 kernel). On a Metal GPU the
embedding stays in MLX.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core.cpu_decoder import Projection, embedding_rows, projection_matrix
from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
import mlx.nn as nn  # noqa: E402


class NumpyVocabProjection(nn.Embedding):
    """A token embedding held once, in numpy, as (n_state, n_vocab): the layout the decoders'
    projection reads fastest. Lookups read its columns; MLX's own (n_vocab, n_state) copy is
    freed (80 MB for tiny, 106 MB for base)."""

    projection: Projection  # (n_state, n_vocab)

    def __call__(self, x: mx.array) -> mx.array:
        return mx.array(embedding_rows(self.projection, np.asarray(x)))

    def as_linear(self, x: mx.array) -> mx.array:
        hidden = np.asarray(x, dtype=np.float32)  # evaluates the step up to here
        flat = np.ascontiguousarray(hidden.reshape(-1, hidden.shape[-1])) @ self.projection
        return mx.array(flat.reshape(*hidden.shape[:-1], flat.shape[-1]))


def project_vocabulary_in_numpy(model: Any) -> None:
    """Switch a loaded fp32 model's token embedding to ``NumpyVocabProjection``."""
    embedding = model.decoder.token_embedding
    mx.eval(embedding.weight)
    n_state = embedding.weight.shape[1]
    embedding.__class__ = NumpyVocabProjection
    embedding.projection = projection_matrix(np.asarray(embedding.weight))
    embedding.weight = mx.zeros((0, n_state), dtype=embedding.weight.dtype)  # MLX's copy goes
