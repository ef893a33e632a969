"""Where each word lies in time, from the decoder's cross-attention: Whisper's alignment, on a
CPU without MLX.

The method is Whisper's (and mlx_whisper's ``find_alignment``, which ``add_word_timestamps``
calls, and which this replaces on a CPU): run the decoder over the window's text once, take
the attention of the model's alignment heads over the audio frames, softmax it over the
frames, standardise it over the tokens, smooth it with a median filter along the frames,
average the heads, and find the cheapest monotonic path of tokens through frames (dynamic
time warping); a word starts at the frame where the path reaches its first token. Each
word's probability is the mean probability of its tokens as the decoder predicted them.

mlx_whisper computes the token probabilities with a softmax over all 50,257 text tokens of
every position in MLX, whose exp runs one element at a time on a CPU (70 ms of a window's
alignment), and projects and keeps every position and every head; here only the positions
and heads read are computed, in numpy and ``vector_kernels`` (0.26 -> 0.1 s a window).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core import vector_kernels
from stenogram.core.cpu_encoder import _softmax_inplace

TOKENS_PER_SECOND = 50  # Whisper's audio positions per second (timestamps of 20 ms)
_MLX_FIND_ALIGNMENT: Any = None  # mlx_whisper's own, for models this cannot align


def find_alignment(
    model: Any,
    tokenizer: Any,
    text_tokens: list[int],
    mel: Any,
    num_frames: int,
    *,
    medfilt_width: int = 7,
    qk_scale: float = 1.0,
) -> list[Any]:
    """mlx_whisper's ``find_alignment``, whose place this takes in its ``add_word_timestamps``:
    ``WordTiming`` for each word of ``text_tokens`` over ``num_frames`` Mel frames.

    ``model`` is what the runtime hands the aligner: its ``numpy_decoder`` and ``features``
    (the window's encoder output) are read here where the vector kernels run; otherwise (a
    Mac's GPU, no kernels) mlx_whisper's own function does the work.
    """
    from mlx_whisper.timing import WordTiming

    numpy_decoder = getattr(model, "numpy_decoder", None)
    if numpy_decoder is None or not vector_kernels.available():
        return _MLX_FIND_ALIGNMENT(model, tokenizer, text_tokens, mel, num_frames,
                                   medfilt_width=medfilt_width, qk_scale=qk_scale)
    if not text_tokens:
        return []
    sot = list(tokenizer.sot_sequence)
    tokens = np.array([[*sot, tokenizer.no_timestamps, *text_tokens, tokenizer.eot]], dtype=np.int32)
    session = numpy_decoder.session()
    session.cross_scores = []
    # the logits that predict each text token: at the token before it
    positions = range(len(sot), len(sot) + len(text_tokens))
    logits = session.start(tokens, model.features, positions, getattr(model, "cross_kv", None))[0]
    probabilities = _token_probabilities(logits[:, : tokenizer.eot], text_tokens)

    heads = np.stack([session.cross_scores[layer][0, head] for layer, head in model.alignment_heads.tolist()])
    matrix = _attention_matrix(heads[:, :, : num_frames // 2], medfilt_width, qk_scale)
    text_indices, time_indices = vector_kernels.dtw(-matrix[len(sot) : -1])

    words, word_tokens = tokenizer.split_to_word_tokens(text_tokens + [tokenizer.eot])
    if len(word_tokens) <= 1:
        return []  # end of text alone
    boundaries = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
    jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
    jump_times = time_indices[jumps] / TOKENS_PER_SECOND
    return [
        WordTiming(word, toks, start, end, float(np.mean(probabilities[i:j])))
        for word, toks, start, end, i, j in zip(
            words, word_tokens, jump_times[boundaries[:-1]], jump_times[boundaries[1:]],
            boundaries[:-1], boundaries[1:],
        )
    ]


def use_in_mlx_whisper() -> None:
    """Makes mlx_whisper's ``add_word_timestamps`` call ``find_alignment`` here, and its own
    ``find_alignment`` (kept for models this cannot align) warp time with ``vector_kernels.dtw``
    where the extension is built: no numba, no plain Python. Once; later calls do nothing."""
    global _MLX_FIND_ALIGNMENT
    from mlx_whisper import timing

    if timing.find_alignment is find_alignment:
        return
    _MLX_FIND_ALIGNMENT = timing.find_alignment
    timing.find_alignment = find_alignment
    if vector_kernels.dtw_available():
        timing.dtw = vector_kernels.dtw


def _token_probabilities(logits: np.ndarray, tokens: list[int]) -> np.ndarray:
    """Each row's probability of its token, the softmax taken over the row (text tokens)."""
    _, _, log_totals = vector_kernels.logits_top(np.ascontiguousarray(logits), 1)
    chosen = logits[np.arange(len(tokens)), tokens]
    return np.exp(chosen.astype(np.float64) - log_totals)


def _attention_matrix(scores: np.ndarray, medfilt_width: int, qk_scale: float) -> np.ndarray:
    """(tokens, frames): the heads' scores (head, token, frame) as probabilities over the
    frames, standardised over the tokens, median-filtered along the frames, averaged."""
    weights = _softmax_inplace(scores.astype(np.float32) * np.float32(qk_scale))
    weights = (weights - weights.mean(axis=-2, keepdims=True)) / weights.std(axis=-2, keepdims=True)
    return median_filter(weights, medfilt_width).mean(axis=0)


def median_filter(x: np.ndarray, width: int) -> np.ndarray:
    """The median of each ``width`` (odd) neighbours along the last axis, the ends reflected
    (as Whisper pads them); an axis no longer than half the width is returned as it is.

    The neighbours are sorted by an odd-even transposition network of element-wise minima and
    maxima over shifted views: no (.., width) copy to partition, 3x faster than that here."""
    half = width // 2
    if x.shape[-1] <= half:
        return x
    n = x.shape[-1]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(half, half)], mode="reflect")
    values = [padded[..., k : k + n] for k in range(width)]
    for step in range(width):
        for i in range(step % 2, width - 1, 2):
            values[i], values[i + 1] = np.minimum(values[i], values[i + 1]), np.maximum(values[i], values[i + 1])
    return values[half]
