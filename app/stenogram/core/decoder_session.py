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

from stenogram.core.row_padding import padding_mask, row_pads, unpadded_positions  # noqa: E402

NUMPY_DECODER_ATTRIBUTE = "numpy_decoder"  # set on a loaded model by WhisperRuntime on a CPU


class DecoderSession(Protocol):
    group: int  # rows per audio (beams), in audio order

    def start(self, tokens: np.ndarray, features: Any, positions: Sequence[int],
              pads: Sequence[int] | None = None) -> np.ndarray: ...

    def step(self, last_tokens: np.ndarray) -> np.ndarray: ...

    def repeat_rows(self, group: int) -> None: ...

    def select(self, rows: Sequence[int] | None, audios: Sequence[int] | None = None) -> None: ...


def decoder_session(model: Any) -> DecoderSession:
    """A fresh session over ``model``: numpy's decoder when the runtime attached one."""
    numpy_decoder = getattr(model, NUMPY_DECODER_ATTRIBUTE, None)
    if numpy_decoder is not None:
        return numpy_decoder.session()
    return MlxDecoderSession(model)


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


def prompt_logits(inference: Inference, tokens: mx.array, features: mx.array, positions: tuple[int, ...],
                  pads: np.ndarray | None = None) -> mx.array:
    """The decoder's first step over the whole prompt, projected onto the vocabulary only at
    ``positions`` (the start of transcript and the last token are all that is read); ``pads``:
    each row's left padding (see ``MlxDecoderSession``).

    mlx-whisper projects every prompt position: with the previous text as prompt that is up to
    227 x 51,864 logits per row, discarded but for two, 10-15% of a window's decoding on a CPU.
    Fills ``inference.kv_cache`` exactly as ``inference.logits`` would.
    """
    decoder = inference.model.decoder
    n = tokens.shape[-1]
    if pads is None:
        x = decoder.token_embedding(tokens) + decoder.positional_embedding[:n]
        mask: Any = decoder._mask
    else:
        x = decoder.token_embedding(tokens) + _padded_positions(decoder, pads, 0, n)
        mask = _RowMask(_padding_mask(decoder, pads, 0, n) + decoder._mask[:n, :n])
    cache = []
    for block in decoder.blocks:
        x, kv, _ = block(x, features, mask=mask, kv_cache=None)
        cache.append(kv)
    inference.kv_cache = cache
    x = decoder.ln(x[:, mx.array(positions)])
    return decoder.token_embedding.as_linear(x).astype(mx.float32)


class _RowMask:
    """An additive attention mask per row, (rows, 1, queries, keys), through mlx_whisper's
    attention, which slices its causal mask as ``mask[:n_ctx, :n_ctx]``: that would cut the
    rows, so slicing gives the whole mask back."""

    def __init__(self, mask: mx.array) -> None:
        self.mask = mask

    def __getitem__(self, _index: Any) -> mx.array:
        return self.mask


def _padded_positions(decoder: Any, pads: np.ndarray, start: int, n: int) -> mx.array:
    """Positional embeddings of positions [start, start + n) of each row, as if its left
    padding were not there, (rows, n, n_state)."""
    return decoder.positional_embedding[mx.array(unpadded_positions(pads, start, n))]


def _padding_mask(decoder: Any, pads: np.ndarray, start: int, n: int) -> mx.array:
    """``row_padding.padding_mask`` in the decoder's dtype."""
    return mx.array(padding_mask(pads, start, n)).astype(decoder._mask.dtype)


class MlxDecoderSession:
    """MLX's decoder with its own caches; the cross-attention keys and values stay one set per
    audio (see ``cross_attention``), shared by that audio's rows. Rows of different prompt
    lengths are padded on the left (``pads``): their tokens keep the positions they would
    have alone and never read the padding."""

    def __init__(self, model: Any) -> None:
        self.inference = Inference(model)
        self.group = 1
        self._pads: np.ndarray | None = None

    def start(self, tokens: np.ndarray, features: Any, positions: Sequence[int],
              pads: Sequence[int] | None = None) -> np.ndarray:
        self.inference.reset()
        self.group = 1
        self._pads = row_pads(pads)
        tokens = mx.array(np.asarray(tokens, dtype=np.int32))
        return np.array(prompt_logits(self.inference, tokens, features, tuple(positions), self._pads))

    def step(self, last_tokens: np.ndarray) -> np.ndarray:
        tokens = mx.array(np.asarray(last_tokens, dtype=np.int32).reshape(-1, 1))
        if self._pads is None:
            return np.array(self.inference.logits(tokens, None)[:, -1])  # the cache holds the audio
        decoder = self.inference.model.decoder
        length = self.inference.kv_cache[0][0][0].shape[1]
        x = decoder.token_embedding(tokens) + _padded_positions(decoder, self._pads, length, 1)
        mask = _RowMask(_padding_mask(decoder, self._pads, length, 1))
        cache = self.inference.kv_cache
        for i, block in enumerate(decoder.blocks):
            x, cache[i], _ = block(x, None, mask=mask, kv_cache=cache[i])
        return np.array(decoder.token_embedding.as_linear(decoder.ln(x)).astype(mx.float32)[:, -1])

    def repeat_rows(self, group: int) -> None:
        self.inference.kv_cache = [
            ((mx.repeat(k, group, axis=0), mx.repeat(v, group, axis=0)), cross)
            for (k, v), cross in self.inference.kv_cache
        ]
        if self._pads is not None:
            self._pads = np.repeat(self._pads, group)
        self.group *= group

    def select(self, rows: Sequence[int] | None, audios: Sequence[int] | None = None) -> None:
        n_rows = self.inference.kv_cache[0][0][0].shape[0]
        rows = None if rows is None else [int(r) for r in rows]
        kept_rows = None if rows is None or rows == list(range(n_rows)) else mx.array(rows)
        kept_audios = None if audios is None else mx.array([int(a) for a in audios])
        if self._pads is not None and rows is not None:
            self._pads = self._pads[rows]
        self.inference.kv_cache = [
            (
                self_kv if kept_rows is None else tree_map(lambda x: x[kept_rows], self_kv),
                cross if kept_audios is None else tree_map(lambda x: x[kept_audios], cross),
            )
            for self_kv, cross in self.inference.kv_cache
        ]
