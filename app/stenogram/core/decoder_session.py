"""One decoding run's decoder and caches, behind the few calls greedy and beam loops make.

The loops hand in tokens as numpy arrays and get numpy logits back; the session keeps the
key/value caches. On a CPU (fp32) the session is ``cpu_decoder``'s numpy decoder; elsewhere
(a Metal GPU, fp16) it is MLX's decoder, whose logits are read back once a step, as the
numpy token choice needs them anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
from mlx.utils import tree_map  # noqa: E402
from mlx_whisper.decoding import Inference  # noqa: E402

NUMPY_DECODER_ATTRIBUTE = "numpy_decoder"  # set on a loaded model by WhisperRuntime on a CPU


class DecoderSession(Protocol):
    group: int  # rows per audio (beams), in audio order

    def start(self, tokens: np.ndarray, features: Any, positions: Sequence[int]) -> np.ndarray: ...

    def step(self, last_tokens: np.ndarray) -> np.ndarray: ...

    def repeat_rows(self, group: int) -> None: ...

    def select(self, rows: Sequence[int] | None, audios: Sequence[int] | None = None) -> None: ...


def decoder_session(model: Any) -> DecoderSession:
    """A fresh session over ``model``: numpy's decoder when the runtime attached one."""
    numpy_decoder = getattr(model, NUMPY_DECODER_ATTRIBUTE, None)
    if numpy_decoder is not None:
        return numpy_decoder.session()
    return MlxDecoderSession(model)


def pads_rows(model: Any) -> bool:
    """Whether ``model``'s sessions take rows of different prompt lengths in one batch (padded
    on the left, ``start(..., pads=)``): numpy's decoder does; MLX's attention has no per-row
    mask in mlx_whisper's blocks."""
    return getattr(model, NUMPY_DECODER_ATTRIBUTE, None) is not None


def language_probabilities(model: Any, tokenizer: Any, features: Any) -> list[dict[str, float]]:
    """Each audio's probability of every language (``features``: (audio, positions, n_state),
    of any length): Whisper's language tokens after the start of transcript, as mlx_whisper's
    ``detect_language`` reads them, through a session (numpy's decoder on a CPU)."""
    sot = np.full((features.shape[0], 1), tokenizer.sot, dtype=np.int32)
    logits = decoder_session(model).start(sot, features, (0,))[:, 0]
    scores = logits[:, list(tokenizer.all_language_tokens)].astype(np.float64)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return [dict(zip(tokenizer.all_language_codes, row.tolist(), strict=True)) for row in weights]


def prompt_logits(inference: Inference, tokens: mx.array, features: mx.array, positions: tuple[int, ...]) -> mx.array:
    """The decoder's first step over the whole prompt, projected onto the vocabulary only at
    ``positions`` (the start of transcript and the last token are all that is read).

    mlx-whisper projects every prompt position: with the previous text as prompt that is up to
    227 x 51,864 logits per row, discarded but for two, 10-15% of a window's decoding on a CPU.
    Fills ``inference.kv_cache`` exactly as ``inference.logits`` would.
    """
    decoder = inference.model.decoder
    x = decoder.token_embedding(tokens) + decoder.positional_embedding[: tokens.shape[-1]]
    cache = []
    for block in decoder.blocks:
        x, kv, _ = block(x, features, mask=decoder._mask, kv_cache=None)
        cache.append(kv)
    inference.kv_cache = cache
    x = decoder.ln(x[:, mx.array(positions)])
    return decoder.token_embedding.as_linear(x).astype(mx.float32)


class MlxDecoderSession:
    """MLX's decoder with its own caches; the cross-attention keys and values stay one set per
    audio (see ``cross_attention``), shared by that audio's rows."""

    def __init__(self, model: Any) -> None:
        self.inference = Inference(model)
        self.group = 1

    def start(self, tokens: np.ndarray, features: Any, positions: Sequence[int]) -> np.ndarray:
        self.inference.reset()
        self.group = 1
        first = prompt_logits(self.inference, mx.array(np.asarray(tokens, dtype=np.int32)), features, tuple(positions))
        return np.array(first)

    def step(self, last_tokens: np.ndarray) -> np.ndarray:
        tokens = mx.array(np.asarray(last_tokens, dtype=np.int32).reshape(-1, 1))
        return np.array(self.inference.logits(tokens, None)[:, -1])  # the cache holds the audio

    def repeat_rows(self, group: int) -> None:
        self.inference.kv_cache = [
            ((mx.repeat(k, group, axis=0), mx.repeat(v, group, axis=0)), cross)
            for (k, v), cross in self.inference.kv_cache
        ]
        self.group *= group

    def select(self, rows: Sequence[int] | None, audios: Sequence[int] | None = None) -> None:
        n_rows = self.inference.kv_cache[0][0][0].shape[0]
        rows = None if rows is None else [int(r) for r in rows]
        kept_rows = None if rows is None or rows == list(range(n_rows)) else mx.array(rows)
        kept_audios = None if audios is None else mx.array([int(a) for a in audios])
        self.inference.kv_cache = [
            (
                self_kv if kept_rows is None else tree_map(lambda x: x[kept_rows], self_kv),
                cross if kept_audios is None else tree_map(lambda x: x[kept_audios], cross),
            )
            for self_kv, cross in self.inference.kv_cache
        ]
