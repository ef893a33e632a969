"""Greedy or sampled decoding of several windows at once: one key/value cache row per window
(per sample, when sampling best-of-n).

Rows that reach end-of-text leave the batch at once (their cache rows are dropped), so a short
window never pays for a long neighbour. The logit filters, the token choice and the scores are
mlx-whisper's greedy and sampling ones, so each row decodes as it would alone: greedily, exactly;
sampled, from the same distribution (numpy's random numbers, seeded per task, so a file gives
the same text every time).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
from mlx_whisper.decoding import DecodingResult, compression_ratio  # noqa: E402

from stenogram.core import vector_kernels  # noqa: E402
from stenogram.core.decoder_session import decoder_session  # noqa: E402
from stenogram.core.features_task import FeaturesTask  # noqa: E402
from stenogram.core.logit_filters import numpy_logit_filters  # noqa: E402


def no_speech_probabilities(sot_logits: np.ndarray, no_speech_token: int | None) -> list[float]:
    """Probability of the no-speech token at the start of transcript, per row."""
    if no_speech_token is None:
        return [float("nan")] * sot_logits.shape[0]
    shifted = np.exp(sot_logits - sot_logits.max(axis=-1, keepdims=True))
    return (shifted[:, no_speech_token] / shifted.sum(axis=-1)).tolist()


SAMPLING_SEED = 0  # each sampled task starts from it: the same window gives the same text


class BatchDecodingTask(FeaturesTask):
    """mlx-whisper's greedy or sampling (temperature > 0, best_of samples per window) decoding
    task, run over a batch of windows whose rows drop out as they end.

    The choice of each token (timestamp rules, argmax or a draw, log-probability) is made in
    numpy: MLX's CPU ``exp`` runs one element at a time, and a log-softmax over 51,864 logits
    per row per step cost about as much as two decoder layers. A window's samples share its
    audio's cross-attention keys and values, as beams do.
    """

    def __init__(self, model: Any, options: Any) -> None:
        super().__init__(model, options)
        if options.beam_size:
            raise ValueError("beam search is BeamDecodingTask's")
        self.logit_filters = numpy_logit_filters(self.logit_filters)
        self._random = np.random.default_rng(SAMPLING_SEED)

    def run(self, features: mx.array) -> list[DecodingResult]:
        features = self._get_audio_features(features)
        n_audio, group = features.shape[0], self.n_group
        tokens = np.tile(np.array(self.initial_tokens, dtype=np.int32), (n_audio, 1))
        languages, _ = self._detect_language(features, tokens)
        session = self.session = decoder_session(self.model)
        first = session.start(tokens, features, (self.sot_index, tokens.shape[-1] - 1))
        no_speech = no_speech_probabilities(first[:, 0], self.tokenizer.no_speech)
        logits = first[:, 1]
        if group > 1:  # a window's samples start alike: its prompt read once, the cache copied
            session.repeat_rows(group)
            tokens, logits = np.repeat(tokens, group, axis=0), np.repeat(logits, group, axis=0)
        finished: dict[int, tuple[list[int], float]] = {}
        live = np.arange(n_audio * group)  # rows still decoding, a window's samples together
        sum_logprobs = np.zeros(len(live), dtype=np.float32)
        for _ in range(self.sample_len):
            tokens, sum_logprobs = self._step(tokens, logits, sum_logprobs)
            # a window leaves once all its samples have ended (an ended one repeats end-of-text)
            ended = (tokens[:, -1] == self.tokenizer.eot).reshape(-1, group).all(axis=1)
            if tokens.shape[-1] > self.n_ctx:
                ended[:] = True
            if ended.any():
                rows_ended = np.repeat(ended, group)
                for k in np.flatnonzero(rows_ended):
                    finished[int(live[k])] = (tokens[k, self.sample_begin :].tolist(), float(sum_logprobs[k]))
                keep = np.flatnonzero(~rows_ended)
                if keep.size == 0:
                    break
                live, tokens, sum_logprobs = live[keep], tokens[keep], sum_logprobs[keep]
                session.select(keep, np.flatnonzero(~ended))
            logits = session.step(tokens[:, -1])
        else:  # out of room: whatever is still running ends here
            for k, row in enumerate(live):
                finished[int(row)] = (tokens[k, self.sample_begin :].tolist(), float(sum_logprobs[k]))
        return [self._result([finished[i * group + j] for j in range(group)], languages[i], no_speech[i])
                for i in range(n_audio)]

    def _step(self, tokens: np.ndarray, logits: np.ndarray, sum_logprobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's next token (an ended row's is end-of-text again, scoring nothing)."""
        for logit_filter in self.logit_filters:
            logits = logit_filter.apply(logits, tokens)
        most_likely, log_totals = _most_likely_and_log_totals(logits)
        temperature = self.options.temperature
        if temperature == 0:
            next_tokens = most_likely
        else:  # a draw from softmax(logits / T): the argmax after Gumbel noise
            noisy = logits / np.float32(temperature) + self._random.gumbel(size=logits.shape).astype(np.float32)
            next_tokens = noisy.argmax(axis=-1)
        chosen_logprob = logits[np.arange(len(logits)), next_tokens] - log_totals
        eot = self.tokenizer.eot
        already_ended = tokens[:, -1] == eot
        next_tokens = np.where(already_ended, eot, next_tokens)
        chosen_logprob = np.where(already_ended, 0.0, chosen_logprob)
        tokens = np.concatenate([tokens, next_tokens[:, None].astype(np.int32)], axis=-1)
        return tokens, sum_logprobs + chosen_logprob.astype(np.float32)

    def _result(self, samples: list[tuple[list[int], float]], language: str, no_speech: float) -> DecodingResult:
        """A window's result: the best of its samples as Whisper ranks them (one when greedy)."""
        eot = self.tokenizer.eot
        texts = [sampled[: sampled.index(eot)] if eot in sampled else sampled for sampled, _ in samples]
        scores = [score for _, score in samples]
        chosen = self.sequence_ranker.rank([texts], [scores])[0] if len(samples) > 1 else 0
        text_tokens, score = texts[chosen], scores[chosen]
        text = self.tokenizer.decode(text_tokens).strip()
        return DecodingResult(
            audio_features=None,
            language=language,
            tokens=text_tokens,
            text=text,
            avg_logprob=score / (len(text_tokens) + 1),
            no_speech_prob=no_speech,
            temperature=self.options.temperature,
            compression_ratio=compression_ratio(text),
        )


def _most_likely_and_log_totals(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's most likely token (the lowest id among equals) and the log of its softmax
    normaliser (log sum exp), in one pass of C where the vector kernels run."""
    if vector_kernels.available():
        ids, _, log_totals = vector_kernels.logits_top(logits, 1)
        return ids[:, 0], log_totals
    best = logits.max(axis=-1, keepdims=True)
    return logits.argmax(axis=-1), best[:, 0] + np.log(np.exp(logits - best).sum(axis=-1))


def decode_batch(model: Any, features: mx.array, options) -> list[DecodingResult]:
    """Greedy (or sampled, at a temperature) results for each row of ``features`` (windows
    already encoded)."""
    return BatchDecodingTask(model, options).run(features)
