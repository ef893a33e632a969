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
from mlx_whisper.decoding import DecodingResult, compression_ratio  # noqa: E402

from stenogram.core.decoder_session import decoder_session  # noqa: E402
from stenogram.core.features_task import FeaturesTask  # noqa: E402
from stenogram.core.logit_filters import numpy_logit_filters  # noqa: E402


def no_speech_probabilities(sot_logits: np.ndarray, no_speech_token: int | None) -> list[float]:
    """Probability of the no-speech token at the start of transcript, per row."""
    if no_speech_token is None:
        return [float("nan")] * sot_logits.shape[0]
    shifted = np.exp(sot_logits - sot_logits.max(axis=-1, keepdims=True))
    return (shifted[:, no_speech_token] / shifted.sum(axis=-1)).tolist()


class BatchGreedyTask(FeaturesTask):
    """mlx-whisper's greedy decoding task, run over a batch of windows that drop out as they end.

    The choice of each token (timestamp rules, argmax, log-probability) is made in numpy:
    MLX's CPU ``exp`` runs one element at a time, and a log-softmax over 51,864 logits per
    row per step cost about as much as two decoder layers.
    """

    def __init__(self, model: Any, options: Any) -> None:
        super().__init__(model, options)
        self.logit_filters = numpy_logit_filters(self.logit_filters)

    def run(self, features: mx.array) -> list[DecodingResult]:
        if self.options.temperature != 0 or self.n_group != 1:
            raise ValueError("batched decoding is greedy: temperature 0, no beams")
        features = self._get_audio_features(features)
        n_rows = features.shape[0]
        tokens = np.tile(np.array(self.initial_tokens, dtype=np.int32), (n_rows, 1))
        languages, _ = self._detect_language(features, tokens)
        session = decoder_session(self.model)
        first = session.start(tokens, features, (self.sot_index, tokens.shape[-1] - 1))
        no_speech = no_speech_probabilities(first[:, 0], self.tokenizer.no_speech)
        finished: dict[int, tuple[list[int], float]] = {}
        live = np.arange(n_rows)
        sum_logprobs = np.zeros(n_rows, dtype=np.float32)
        logits = first[:, 1]
        for _ in range(self.sample_len):
            tokens, sum_logprobs, ended = self._step(tokens, logits, sum_logprobs)
            done = ended | (tokens.shape[-1] > self.n_ctx)
            if done.any():
                for k in np.flatnonzero(done):
                    finished[int(live[k])] = (tokens[k, self.sample_begin :].tolist(), float(sum_logprobs[k]))
                keep = np.flatnonzero(~done)
                if keep.size == 0:
                    break
                live, tokens, sum_logprobs = live[keep], tokens[keep], sum_logprobs[keep]
                session.select(keep, keep)
            logits = session.step(tokens[:, -1])
        else:  # out of room: whatever is still running ends here
            for k, row in enumerate(live):
                finished[int(row)] = (tokens[k, self.sample_begin :].tolist(), float(sum_logprobs[k]))
        return [self._result(finished[i], languages[i], no_speech[i]) for i in range(n_rows)]

    def _step(self, tokens: np.ndarray, logits: np.ndarray, sum_logprobs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        for logit_filter in self.logit_filters:
            logits = logit_filter.apply(logits, tokens)
        next_tokens = logits.argmax(axis=-1)
        best = logits.max(axis=-1, keepdims=True)
        chosen_logprob = -np.log(np.exp(logits - best).sum(axis=-1))  # best - logsumexp
        tokens = np.concatenate([tokens, next_tokens[:, None].astype(np.int32)], axis=-1)
        return tokens, sum_logprobs + chosen_logprob.astype(np.float32), next_tokens == self.tokenizer.eot

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
