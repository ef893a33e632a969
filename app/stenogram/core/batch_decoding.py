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
from mlx_whisper.decoding import DecodingResult, DecodingTask, compression_ratio  # noqa: E402


class BatchGreedyTask(DecodingTask):
    """mlx-whisper's greedy decoding task, run over a batch of windows that drop out as they end."""

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

        logits = self.inference.logits(tokens, features)
        no_speech = self._no_speech(logits)
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
        next_tokens = logits.argmax(axis=-1)
        logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        sum_logprobs = sum_logprobs + mx.take_along_axis(logprobs, next_tokens[:, None], axis=-1)[:, 0]
        tokens = mx.concatenate([tokens, next_tokens[:, None]], axis=-1)
        return tokens, sum_logprobs, np.array(next_tokens) == self.tokenizer.eot

    def _keep(self, keep: np.ndarray, live: np.ndarray, tokens: mx.array, sum_logprobs: mx.array, features: mx.array):
        index = mx.array(keep)
        self.inference.kv_cache = tree_map(lambda x: x[index], self.inference.kv_cache)
        return live[keep], tokens[index], sum_logprobs[index], features[index]

    def _no_speech(self, logits: mx.array) -> list[float]:
        if self.tokenizer.no_speech is None:
            return [float("nan")] * logits.shape[0]
        probs = mx.softmax(logits[:, self.sot_index].astype(mx.float32), axis=-1)
        return np.array(probs[:, self.tokenizer.no_speech]).tolist()

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
