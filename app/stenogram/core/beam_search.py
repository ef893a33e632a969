"""Beam search for mlx-whisper, with the semantics of openai/whisper's ``BeamSearchDecoder``.

mlx-whisper decodes greedily only. Here a window's beams run as ONE batch through the
decoder (the audio features are shared, the key/value cache is reordered as beams move), so a
beam of 5 costs one batched decoder step per token rather than five. Candidates, patience,
the length penalty, the timestamp rules and suppressions are exactly Whisper's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
from mlx_whisper.decoding import (  # noqa: E402
    DecodingOptions,
    DecodingResult,
    Inference,
    MaximumLikelihoodRanker,
    compression_ratio,
)

from stenogram.core.features_task import FeaturesTask  # noqa: E402


class BeamSearchDecoder:
    """Keeps ``beam_size`` live sequences per audio and collects finished ones."""

    def __init__(
        self, beam_size: int, eot: int, inference: Inference, patience: float | None = None
    ):
        self.beam_size = beam_size
        self.eot = eot
        self.inference = inference
        self.patience = patience or 1.0
        self.max_candidates = round(beam_size * self.patience)
        if self.max_candidates <= 0:
            raise ValueError(f"Invalid beam size ({beam_size}) or patience ({patience})")
        self.finished: list[dict[tuple[int, ...], float]] | None = None

    def reset(self) -> None:
        self.finished = None

    def update(
        self, tokens: mx.array, logits: mx.array, sum_logprobs: mx.array
    ) -> tuple[mx.array, bool, mx.array]:
        n_rows = tokens.shape[0]
        if n_rows % self.beam_size:
            raise ValueError(f"{n_rows} rows are not a whole number of beams of {self.beam_size}")
        n_audio = n_rows // self.beam_size
        if self.finished is None:
            self.finished = [{} for _ in range(n_audio)]
        top_tokens, top_logprobs = _top_candidates(logits, self.beam_size + 1)
        prefixes = np.array(tokens).tolist()
        scores_so_far = np.array(sum_logprobs).tolist()

        next_tokens: list[list[int]] = []
        sources: list[int] = []
        next_scores: list[float] = []
        for i in range(n_audio):
            scores: dict[tuple[int, ...], float] = {}
            origin: dict[tuple[int, ...], int] = {}
            for row in range(i * self.beam_size, (i + 1) * self.beam_size):
                for token, logprob in zip(top_tokens[row], top_logprobs[row]):
                    sequence = (*prefixes[row], int(token))
                    scores[sequence] = scores_so_far[row] + float(logprob)
                    origin[sequence] = row
            newly_finished: dict[tuple[int, ...], float] = {}
            kept = 0
            for sequence in sorted(scores, key=scores.__getitem__, reverse=True):
                if sequence[-1] == self.eot:
                    newly_finished[sequence] = scores[sequence]
                    continue
                next_tokens.append(list(sequence))
                sources.append(origin[sequence])
                next_scores.append(scores[sequence])
                kept += 1
                if kept == self.beam_size:
                    break
            done = self.finished[i]
            for sequence in sorted(newly_finished, key=newly_finished.__getitem__, reverse=True):
                if len(done) >= self.max_candidates:
                    break
                done[sequence] = newly_finished[sequence]

        _rearrange_self_attention(self.inference, sources)
        completed = all(len(done) >= self.max_candidates for done in self.finished)
        return mx.array(next_tokens), completed, mx.array(next_scores, dtype=mx.float32)

    def finalize(
        self, tokens: np.ndarray, sum_logprobs: np.ndarray
    ) -> tuple[list[list[list[int]]], list[list[float]]]:
        """Finished sequences per audio, topped up with the best live beams when too few finished."""
        assert self.finished is not None
        for i, done in enumerate(self.finished):
            if len(done) < self.beam_size:
                for j in np.argsort(sum_logprobs[i])[::-1]:
                    done[(*tokens[i, j].tolist(), self.eot)] = float(sum_logprobs[i][j])
                    if len(done) >= self.beam_size:
                        break
        return (
            [[list(seq) for seq in done] for done in self.finished],
            [list(done.values()) for done in self.finished],
        )


def _rearrange_self_attention(inference: Inference, sources: list[int]) -> None:
    """Reorder the cache rows as the beams moved; only self-attention keys and values differ
    between the beams of one audio, so the cross-attention ones (1,500 frames a layer) stay."""
    if inference.kv_cache is None or sources == list(range(len(sources))):
        return
    index = mx.array(sources)
    inference.kv_cache = [
        ((self_k[index], self_v[index]), cross) for (self_k, self_v), cross in inference.kv_cache
    ]


def _top_candidates(logits: mx.array, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most likely next tokens of each row, with their log-probabilities."""
    logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    index = mx.argpartition(-logprobs, kth=k - 1, axis=-1)[:, :k]
    values = mx.take_along_axis(logprobs, index, axis=-1)
    return np.array(index), np.array(values)


class BeamDecodingTask(FeaturesTask):
    """mlx-whisper's decoding task with beam search in place of its greedy decoder."""

    def __init__(self, model: Any, options: DecodingOptions) -> None:
        if not options.beam_size or options.temperature != 0:
            raise ValueError("beam search needs a beam size and temperature 0")
        super().__init__(model, replace(options, beam_size=None, patience=None))
        self.options = options
        self.n_group = options.beam_size
        self.decoder = BeamSearchDecoder(
            options.beam_size, self.tokenizer.eot, self.inference, options.patience
        )
        self.sequence_ranker = MaximumLikelihoodRanker(options.length_penalty)

    def run(self, mel: mx.array) -> list[DecodingResult]:
        self.inference.reset()
        self.decoder.reset()
        tokenizer = self.tokenizer
        features = self._get_audio_features(mel)
        n_audio = features.shape[0]
        tokens = mx.broadcast_to(mx.array(self.initial_tokens), (n_audio, len(self.initial_tokens)))
        languages, _ = self._detect_language(features, tokens)
        # Every beam of an audio attends to the same features.
        features = mx.repeat(features, self.n_group, axis=0)
        tokens = mx.repeat(tokens, self.n_group, axis=0)
        tokens, sum_logprobs, no_speech_probs = _beam_loop(self, features, tokens)
        no_speech = np.array(no_speech_probs).reshape(n_audio, self.n_group)[:, 0].tolist()
        live = np.array(tokens).reshape(n_audio, self.n_group, -1)
        live_scores = np.array(sum_logprobs).reshape(n_audio, self.n_group)
        candidates, scores = self.decoder.finalize(live, live_scores)
        candidates = [
            [_text_tokens(seq, self.sample_begin, tokenizer.eot) for seq in group]
            for group in candidates
        ]
        chosen = self.sequence_ranker.rank(candidates, scores)
        results = []
        for i in range(n_audio):
            best = candidates[i][chosen[i]]
            text = tokenizer.decode(best).strip()
            results.append(
                DecodingResult(
                    audio_features=features[i * self.n_group],
                    language=languages[i],
                    tokens=best,
                    text=text,
                    avg_logprob=scores[i][chosen[i]] / (len(best) + 1),
                    no_speech_prob=no_speech[i],
                    temperature=0.0,
                    compression_ratio=compression_ratio(text),
                )
            )
        return results


def _beam_loop(task: BeamDecodingTask, features: mx.array, tokens: mx.array) -> tuple[mx.array, mx.array, mx.array]:
    """mlx-whisper's main loop, with the prompt projected only where it is read."""
    from stenogram.core.batch_decoding import no_speech_probabilities, prompt_logits

    sum_logprobs = mx.zeros(tokens.shape[0])
    first = prompt_logits(task.inference, tokens, features, (task.sot_index, tokens.shape[-1] - 1))
    no_speech = mx.array(no_speech_probabilities(first[:, 0], task.tokenizer.no_speech))
    logits = first[:, 1]
    for _ in range(task.sample_len):
        for logit_filter in task.logit_filters:
            logits = logit_filter.apply(logits, tokens)
        tokens, completed, sum_logprobs = task.decoder.update(tokens, logits, sum_logprobs)
        if completed or tokens.shape[-1] > task.n_ctx:
            break
        logits = task.inference.logits(tokens[:, -1:], features)[:, -1]
    return tokens, sum_logprobs, no_speech


def _text_tokens(sequence: list[int], sample_begin: int, eot: int) -> list[int]:
    sampled = sequence[sample_begin:]
    return sampled[: sampled.index(eot)] if eot in sampled else sampled
