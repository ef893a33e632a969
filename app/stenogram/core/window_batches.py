"""Transcribe VAD-packed speech as independent windows, decoded several at a time.

Speech pieces are grouped into windows of at most 30 s that start and end at piece
boundaries. Windows do not depend on each other (no previous-text prompt, as in
faster-whisper's batched pipeline), so their decoder steps run as one batch; each window's
result (greedy, or the best of a beam search when the options ask for beams) is then
treated exactly like a window of Whisper's own loop: fallback temperatures
when it fails, skipped when silent, split into segments at timestamp tokens, words aligned.
A window the model ended early, with a piece still to come, is queued again from that piece.
The engine decodes greedily this way; beams run Whisper's own loop in lanes (``window_lanes``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from stenogram.core.log_mel import FRAMES_PER_SECOND, N_FRAMES, LogMel
from stenogram.core.window_decoder import (
    LoopSettings,
    RawSegment,
    add_words,
    at_temperature,
    decode_with_fallback,
    initial_prompt_tokens,
    is_silent,
    last_end,
    needs_fallback,
    split_window,
)

if TYPE_CHECKING:
    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core.whisper_runtime import WhisperRuntime


@dataclass(frozen=True)
class Window:
    start: int  # first frame
    size: int  # frames of audio (at most N_FRAMES)


def plan_windows(piece_starts: Sequence[int], n_frames: int) -> list[Window]:
    """Consecutive pieces grouped into windows of at most 30 s, cut only between pieces
    (or, for a piece longer than 30 s, every 30 s inside it)."""
    bounds = [*sorted(s for s in piece_starts if 0 <= s < n_frames), n_frames]
    if not bounds or bounds[0] != 0:
        bounds.insert(0, 0)
    windows: list[Window] = []
    start = 0
    for i, piece_start in enumerate(bounds[1:], start=1):
        if piece_start - start > N_FRAMES:
            last_fit = bounds[i - 1]
            if last_fit > start:  # close the window before this piece
                windows.append(Window(start, last_fit - start))
                start = last_fit
            while piece_start - start > N_FRAMES:  # a piece longer than a window
                windows.append(Window(start, N_FRAMES))
                start += N_FRAMES
    if n_frames > start:
        windows.append(Window(start, n_frames - start))
    return windows


def decode_in_batches(
    runtime: WhisperRuntime,
    mel: LogMel,
    base_options: DecodingOptions,
    settings: LoopSettings,
    piece_starts: Sequence[int],
    batch_size: int,
    *,
    on_window: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[RawSegment]:
    """Segments of every window, in time order; ``on_window(frames_done)`` as they finish."""
    import mlx.core as mx

    from stenogram.core.whisper_runtime import DecodeCancelled, _CancelCheck

    tokenizer = runtime.tokenizer(base_options.language, base_options.task)
    options = replace(base_options, prompt=initial_prompt_tokens(tokenizer, settings))
    queue = plan_windows(piece_starts, mel.n_frames)
    total = sum(w.size for w in queue)
    done_frames = 0
    segments: list[RawSegment] = []
    while queue:
        batch, queue = queue[:batch_size], queue[batch_size:]
        if cancel is not None and cancel.is_set():
            raise DecodeCancelled
        features = [runtime.encode(mel.window(w.start, w.size)) for w in batch]
        task = _first_pass(runtime, options)
        if cancel is not None:  # a batch of beam searches runs for seconds: stop within a step
            task.logit_filters.append(_CancelCheck(cancel))
        results = task.run(mx.concatenate(features, axis=0))
        for i, (window, feats, result) in enumerate(zip(batch, features, results, strict=True)):
            if needs_fallback(result, settings) and len(settings.temperatures) > 1:
                warmer = replace(settings, temperatures=settings.temperatures[1:])
                result = decode_with_fallback(runtime, feats, options, warmer, cancel)
            if is_silent(result, settings):
                done_frames += window.size
                continue
            decoded = split_window(result, tokenizer, window.start, window.size)
            if settings.word_timestamps and decoded.segments:
                add_words(runtime, tokenizer, feats, decoded, 0.0, task.audio_keys_values(i))
            segments.extend(s for s in decoded.segments if s.text.strip() and s.start != s.end)
            rest = _undecoded_rest(window, decoded, piece_starts)
            if rest is not None:
                queue.append(rest)
            done_frames += window.size - (rest.size if rest else 0)
        task.session = None  # the batch's keys and values, kept for its words, go now
        if on_window is not None:
            on_window(min(total, done_frames))
    return sorted(segments, key=lambda s: s.start)


def _first_pass(runtime: WhisperRuntime, options: DecodingOptions):
    """The temperature-0 task for a batch: beam search when asked for (its beams share each
    window's cross-attention keys and values), else greedy."""
    if options.beam_size and options.beam_size > 1:
        from stenogram.core.beam_search import BeamDecodingTask

        return BeamDecodingTask(runtime.model, at_temperature(options, 0.0))
    from stenogram.core.batch_decoding import BatchDecodingTask

    return BatchDecodingTask(runtime.model, replace(at_temperature(options, 0.0), beam_size=None, patience=None))


def _undecoded_rest(window: Window, decoded, piece_starts: Sequence[int]) -> Window | None:
    """What is left of a window to decode again: from where Whisper would seek next when the
    model stopped before the window's end, or from a speech piece nothing was decoded from."""
    end = window.start + window.size
    candidates = []
    if not decoded.single_timestamp_ending and window.start < decoded.next_seek < end:
        candidates.append(decoded.next_seek)
    decoded_to = round((last_end(decoded.segments) or 0.0) * FRAMES_PER_SECOND)
    candidates += [s for s in piece_starts if window.start < s < end and s >= decoded_to]
    if not candidates:
        return None
    start = min(candidates)
    return Window(start, end - start)
