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
    MaximumLikelihoodRanker,
    compression_ratio,
)

from stenogram.core import vector_kernels  # noqa: E402
from stenogram.core.features_task import FeaturesTask  # noqa: E402
from stenogram.core.logit_filters import numpy_logit_filters  # noqa: E402


class BeamSearchDecoder:
    """Keeps ``beam_size`` live sequences per audio and collects finished ones."""

    def __init__(self, beam_size: int, eot: int, patience: float | None = None):
        self.beam_size = beam_size
        self.eot = eot
        self.patience = patience or 1.0
        self.max_candidates = round(beam_size * self.patience)
        if self.max_candidates <= 0:
            raise ValueError(f"Invalid beam size ({beam_size}) or patience ({patience})")
        self.finished: list[dict[tuple[int, ...], float]] | None = None

    def reset(self) -> None:
        self.finished = None

    @property
    def done_audio_can_leave(self) -> bool:
        """Whether an audio with enough finished sequences no longer needs its live beams: only
        when ``finalize`` will not top it up with them (patience of at least 1)."""
        return self.max_candidates >= self.beam_size

    def update(
        self,
        tokens: np.ndarray,
        logits: np.ndarray,
        sum_logprobs: np.ndarray,
        audios: list[int] | None = None,
    ) -> tuple[np.ndarray, list[bool], np.ndarray, list[int]]:
        """One step: the next beams of each audio, which audios have finished enough
        sequences, the beams' scores, and the row each next beam extends.

        ``audios`` names the audio of each block of ``beam_size`` rows (all of them, in order,
        when None); the caller reorders the key/value cache by the returned source rows.
        """
        n_rows = tokens.shape[0]
        if n_rows % self.beam_size:
            raise ValueError(f"{n_rows} rows are not a whole number of beams of {self.beam_size}")
        if audios is None:
            audios = list(range(n_rows // self.beam_size))
        if self.finished is None:
            self.finished = [{} for _ in range(max(audios) + 1)]
        top_tokens, top_logprobs = _top_candidates(logits, self.beam_size + 1)
        prefixes = tokens.tolist()
        scores_so_far = sum_logprobs.tolist()

        next_tokens: list[list[int]] = []
        sources: list[int] = []
        next_scores: list[float] = []
        for block, audio in enumerate(audios):
            scores: dict[tuple[int, ...], float] = {}
            origin: dict[tuple[int, ...], int] = {}
            for row in range(block * self.beam_size, (block + 1) * self.beam_size):
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
            done = self.finished[audio]
            for sequence in sorted(newly_finished, key=newly_finished.__getitem__, reverse=True):
                if len(done) >= self.max_candidates:
                    break
                done[sequence] = newly_finished[sequence]

        completed = [len(self.finished[audio]) >= self.max_candidates for audio in audios]
        return np.array(next_tokens, dtype=np.int32), completed, np.array(next_scores, dtype=np.float32), sources

    def finalize(
        self, tokens: dict[int, np.ndarray], sum_logprobs: dict[int, np.ndarray]
    ) -> tuple[list[list[list[int]]], list[list[float]]]:
        """Finished sequences per audio, topped up with its last live beams (``tokens[audio]``,
        (beam_size, length)) when too few finished."""
        assert self.finished is not None
        for i, done in enumerate(self.finished):
            if len(done) < self.beam_size:
                for j in np.argsort(sum_logprobs[i])[::-1]:
                    done[(*tokens[i][j].tolist(), self.eot)] = float(sum_logprobs[i][j])
                    if len(done) >= self.beam_size:
                        break
        return (
            [[list(seq) for seq in done] for done in self.finished],
            [list(done.values()) for done in self.finished],
        )


def _top_candidates(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most likely next tokens of each row, with their log-probabilities; equal logits
    go to the lower token id.

    In one pass of C where the vector kernels run (1.1 -> 0.3 ms for 15 rows); else in numpy,
    whose ``exp`` is ~10x cheaper than MLX's on a CPU, with k passes of argmax (faster than a
    partition over the 51,864 tokens).
    """
    if vector_kernels.available():
        ids, top, log_totals = vector_kernels.logits_top(logits, k)
        return ids, top - log_totals[:, None]
    values = np.array(logits, dtype=np.float32)  # a copy of our own, changed below
    peak = values.max(axis=-1, keepdims=True)
    log_total = peak + np.log(np.exp(values - peak).sum(axis=-1, keepdims=True))
    rows = np.arange(values.shape[0])
    top = np.empty((values.shape[0], k), dtype=np.int64)
    chosen = np.empty((values.shape[0], k), dtype=np.float32)
    for j in range(k):
        top[:, j] = values.argmax(axis=-1)
        chosen[:, j] = values[rows, top[:, j]]
        values[rows, top[:, j]] = -np.inf
    return top, chosen - log_total


class BeamDecodingTask(FeaturesTask):
    """mlx-whisper's decoding task with beam search in place of its greedy decoder.

    Runs any number of audios at once (``beam_size`` rows each, sharing their audio's
    cross-attention keys and values); an audio whose search is over leaves the batch, as
    rows do in batched greedy decoding."""

    def __init__(self, model: Any, options: DecodingOptions) -> None:
        if not options.beam_size or options.temperature != 0:
            raise ValueError("beam search needs a beam size and temperature 0")
        super().__init__(model, replace(options, beam_size=None, patience=None))
        self.options = options
        self.n_group = options.beam_size
        self.decoder = BeamSearchDecoder(options.beam_size, self.tokenizer.eot, options.patience)
        self.sequence_ranker = MaximumLikelihoodRanker(options.length_penalty)
        self.logit_filters = numpy_logit_filters(self.logit_filters)

    def run(self, mel: mx.array, prompts: list[list[int]] | None = None) -> list[DecodingResult]:
        """Each audio's best beam. ``prompts``: each audio's own previous text (the options'
        prompt must be the longest of them; a session that can pad rows reads them), else the
        options' prompt for all."""
        self.decoder.reset()
        tokenizer = self.tokenizer
        features = self._get_audio_features(mel)
        n_audio = features.shape[0]
        if prompts is None:
            tokens, pads = np.tile(np.array(self.initial_tokens, dtype=np.int32), (n_audio, 1)), None
        else:
            tokens, pads = self._padded_rows(prompts)
        languages, _ = self._detect_language(features, tokens)
        live, live_scores, no_speech = _beam_loop(self, features, tokens, pads)
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
                    audio_features=features[i],
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

    def _padded_rows(self, prompts: list[list[int]]) -> tuple[np.ndarray, list[int]]:
        """Each audio's initial tokens as Whisper writes them for its own prompt, padded on the
        left to the task's length (all rows then sample from the same column), and the pads."""
        suffix = list(self.initial_tokens[self.sot_index :])
        keep = self.n_ctx // 2 - 1  # Whisper's cut of a long prompt
        rows = [([self.tokenizer.sot_prev, *prompt[-keep:]] if prompt else []) + suffix for prompt in prompts]
        width = len(self.initial_tokens)
        if any(len(row) > width for row in rows):
            raise ValueError("the task's prompt must be the longest of its audios'")
        pads = [width - len(row) for row in rows]
        padded = [[self.tokenizer.eot] * pad + row for pad, row in zip(pads, rows, strict=True)]
        return np.array(padded, dtype=np.int32), pads


def _beam_loop(
    task: BeamDecodingTask, features: mx.array, prompts: np.ndarray, pads: list[int] | None = None
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], list[float]]:
    """mlx-whisper's main loop, with the prompt projected only where it is read.

    ``prompts`` holds one row per audio (``pads`` of its first tokens padding). Returns each
    audio's last live beams and their scores (what ``finalize`` may top up with), and its
    no-speech probability.
    """
    from stenogram.core.batch_decoding import no_speech_probabilities
    from stenogram.core.decoder_session import decoder_session

    group = task.n_group
    decoder = task.decoder
    audios = list(range(features.shape[0]))
    live: dict[int, np.ndarray] = {}
    live_scores: dict[int, np.ndarray] = {}

    def keep_last(blocks: list[int], tokens: np.ndarray, sum_logprobs: np.ndarray) -> None:
        for b in blocks:
            live[audios[b]] = tokens[b * group : (b + 1) * group]
            live_scores[audios[b]] = sum_logprobs[b * group : (b + 1) * group]

    # The beams of an audio start alike: read the prompt once per audio, then copy its cache.
    session = task.session = decoder_session(task.model)
    first = session.start(prompts, features, (task.sot_index, prompts.shape[-1] - 1), pads=pads)
    session.repeat_rows(group)
    no_speech = no_speech_probabilities(first[:, 0], task.tokenizer.no_speech)
    tokens = np.repeat(prompts, group, axis=0)
    sum_logprobs = np.zeros(tokens.shape[0], dtype=np.float32)
    logits = np.repeat(first[:, 1], group, axis=0)
    for _ in range(task.sample_len):
        for logit_filter in task.logit_filters:
            logits = logit_filter.apply(logits, tokens)
        tokens, completed, sum_logprobs, sources = decoder.update(tokens, logits, sum_logprobs, audios)
        order = _in_place_order(sources, group)
        tokens, sum_logprobs, sources = tokens[order], sum_logprobs[order], [sources[i] for i in order]
        if all(completed) or tokens.shape[-1] > task.n_ctx:
            break
        if any(completed) and decoder.done_audio_can_leave:
            blocks = [b for b, done in enumerate(completed) if not done]
            keep_last([b for b, done in enumerate(completed) if done], tokens, sum_logprobs)
            rows = [b * group + j for b in blocks for j in range(group)]
            tokens, sum_logprobs = tokens[rows], sum_logprobs[rows]
            sources = [sources[r] for r in rows]
            audios = [audios[b] for b in blocks]
            session.select(sources, blocks)
        else:
            session.select(sources, None)
        logits = session.step(tokens[:, -1])
    keep_last(list(range(len(audios))), tokens, sum_logprobs)
    return live, live_scores, no_speech


def _in_place_order(sources: list[int], group: int) -> list[int]:
    """An order of the next beams, within each audio's block of ``group`` rows, in which a beam
    takes the row of the beam it extends where it can: the caches then copy only the rows of
    beams that moved (Whisper orders beams by score; which row holds a beam changes nothing
    but the order equal scores are met in)."""
    order: list[int] = []
    for first in range(0, len(sources), group):
        slots: dict[int, int] = {}
        moved: list[int] = []
        for beam in range(first, first + group):
            slot = sources[beam] % group
            if slot in slots:
                moved.append(beam)
            else:
                slots[slot] = beam
        free = (slot for slot in range(group) if slot not in slots)
        slots.update(zip(free, moved))
        order.extend(slots[slot] for slot in range(group))
    return order


def _text_tokens(sequence: list[int], sample_begin: int, eot: int) -> list[int]:
    sampled = sequence[sample_begin:]
    return sampled[: sampled.index(eot)] if eot in sampled else sampled
