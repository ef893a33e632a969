"""Greedy decoding of several windows at once: one key/value cache row per window.

Rows that reach end-of-text leave the batch at once (their cache rows are dropped), so a short
window never pays for a long neighbour. The logit filters, the token choice and the scores are
mlx-whisper's greedy ones, so each row decodes exactly as it would alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
from mlx.utils import tree_map  # noqa: E402
from mlx_whisper.decoding import DecodingResult, compression_ratio  # noqa: E402

from stenogram.core.features_task import FeaturesTask  # noqa: E402
from stenogram.core.timestamp_rules import use_numpy_timestamp_rules  # noqa: E402


def prompt_logits(inference: Any, tokens: mx.array, features: mx.array, positions: tuple[int, ...]) -> mx.array:
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


def no_speech_probabilities(sot_logits: mx.array, no_speech_token: int | None) -> list[float]:
    """Probability of the no-speech token at the start of transcript, per row."""
    if no_speech_token is None:
        return [float("nan")] * sot_logits.shape[0]
    probs = mx.softmax(sot_logits, axis=-1)
    return np.array(probs[:, no_speech_token]).tolist()


class BatchGreedyTask(FeaturesTask):
    """mlx-whisper's greedy decoding task, run over a batch of windows that drop out as they end.

    The choice of each token (timestamp rules, argmax, log-probability) is made in numpy:
    MLX's CPU ``exp`` runs one element at a time, and a log-softmax over 51,864 logits per
    row per step cost about as much as two decoder layers.
    """

    def __init__(self, model: Any, options: Any) -> None:
        super().__init__(model, options)
        self.logit_filters = use_numpy_timestamp_rules(self.logit_filters)

    def run(self, features: mx.array) -> list[DecodingResult]:
        if self.options.temperature != 0 or self.n_group != 1:
            raise ValueError("batched decoding is greedy: temperature 0, no beams")
        self.inference.reset()
        features = self._get_audio_features(features)
        n_rows = features.shape[0]
        tokens = mx.broadcast_to(mx.array(self.initial_tokens), (n_rows, len(self.initial_tokens)))
        languages, _ = self._detect_language(features, tokens)
        finished: dict[int, tuple[list[int], float]] = {}
        live = np.arange(n_rows)
        sum_logprobs = mx.zeros(n_rows)

        first = prompt_logits(self.inference, tokens, features, (self.sot_index, tokens.shape[-1] - 1))
        no_speech = self._no_speech(first[:, 0])
        logits = first[:, 1:]
        for _ in range(self.sample_len):
            tokens, sum_logprobs, ended = self._step(tokens, logits[:, -1], sum_logprobs)
            if ended.any() or tokens.shape[-1] > self.n_ctx:
                rows = np.array(tokens).tolist()
                scores = np.array(sum_logprobs).tolist()
                done = ended | (tokens.shape[-1] > self.n_ctx)
                for k in np.flatnonzero(done):
                    finished[int(live[k])] = (rows[k][self.sample_begin :], scores[k])
                keep = np.flatnonzero(~done)
                if keep.size == 0:
                    break
                live, tokens, sum_logprobs, features = self._keep(keep, live, tokens, sum_logprobs, features)
            logits = self.inference.logits(tokens[:, -1:], features)
        else:  # out of room: whatever is still running ends here
            rows, scores = np.array(tokens).tolist(), np.array(sum_logprobs).tolist()
            for k, row in enumerate(live):
                finished[int(row)] = (rows[k][self.sample_begin :], scores[k])
        return [self._result(finished[i], languages[i], no_speech[i]) for i in range(n_rows)]

    def _step(self, tokens: mx.array, logits: mx.array, sum_logprobs: mx.array) -> tuple[mx.array, mx.array, np.ndarray]:
        for logit_filter in self.logit_filters:
            logits = logit_filter.apply(logits, tokens)
        values = np.array(logits, dtype=np.float32)
        next_tokens = values.argmax(axis=-1)
        best = values.max(axis=-1, keepdims=True)
        chosen_logprob = -np.log(np.exp(values - best).sum(axis=-1))  # best - logsumexp
        sum_logprobs = sum_logprobs + mx.array(chosen_logprob)
        tokens = mx.concatenate([tokens, mx.array(next_tokens[:, None].astype(np.int32))], axis=-1)
        return tokens, sum_logprobs, next_tokens == self.tokenizer.eot

    def _keep(self, keep: np.ndarray, live: np.ndarray, tokens: mx.array, sum_logprobs: mx.array, features: mx.array):
        index = mx.array(keep)
        self.inference.kv_cache = tree_map(lambda x: x[index], self.inference.kv_cache)
        return live[keep], tokens[index], sum_logprobs[index], features[index]

    def _no_speech(self, sot_logits: mx.array) -> list[float]:
        return no_speech_probabilities(sot_logits, self.tokenizer.no_speech)

    def _result(self, row: tuple[list[int], float], language: str, no_speech: float) -> DecodingResult:
        sampled, score = row
        eot = self.tokenizer.eot
        text_tokens = sampled[: sampled.index(eot)] if eot in sampled else sampled
        text = self.tokenizer.decode(text_tokens).strip()
        return DecodingResult(
            audio_features=None,
            language=language,
            tokens=text_tokens,
            text=text,
            avg_logprob=score / (len(text_tokens) + 1),
            no_speech_prob=no_speech,
            temperature=0.0,
            compression_ratio=compression_ratio(text),
        )


def decode_batch(model: Any, features: mx.array, options) -> list[DecodingResult]:
    """Greedy results for each row of ``features`` (windows already encoded)."""
    return BatchGreedyTask(model, options).run(features)
