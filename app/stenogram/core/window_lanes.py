"""Whisper's own long-form loop in several lanes at once: how a long file is beam searched.

The VAD-packed audio is cut, between speech pieces, into as many stretches (lanes) as a batch
holds windows, and each lane is transcribed by Whisper's sequential loop (``window_decoder.Lane``):
a window runs 30 s from where the last one's last whole segment ended, its prompt the lane's
text so far. One window of every lane is decoded per batch, all their beams as one batch.

Why not the windows ``window_batches`` plans (cut between pieces, decoded independently)?
With beams, the words a window hears after a phrase change how a small model hears it, and a
window that stops at a pause hears none: on the 10-minute recording, tiny.en with beam 5 gave
4.85% WER over planned windows, 3.73% over Whisper's loop one window at a time (27-31 s
instead of 24), and gives 3.92% in lanes, in 22-23 s (bench/RESULTS.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from stenogram.core.log_mel import N_FRAMES, LogMel
from stenogram.core.window_decoder import (
    Lane,
    LoopSettings,
    RawSegment,
    add_words,
    at_temperature,
    decode_with_fallback,
    initial_prompt_tokens,
    is_silent,
    needs_fallback,
    split_window,
)

if TYPE_CHECKING:
    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core.whisper_runtime import WhisperRuntime

def plan_lanes(piece_starts: Sequence[int], n_frames: int, n_lanes: int) -> list[tuple[int, int]]:
    """Up to ``n_lanes`` stretches (first frame, end) covering [0, n_frames), cut at the speech
    pieces' starts nearest equal shares.

    No more lanes than 30 s windows fill: a file a batch covers in one window a lane is
    decoded as one batch of windows (more, shorter lanes would only add rows to each step:
    en_long, 70 s, tiny.en beam 5, 6 lanes 3.3-3.9 s, 3 lanes 2.7 s, 2 lanes 2.7-3.5 s)."""
    n_lanes = max(1, min(n_lanes, -(-n_frames // N_FRAMES)))
    starts = sorted(s for s in set(piece_starts) if 0 < s < n_frames)
    cuts: list[int] = []
    for i in range(1, n_lanes):
        ideal = i * n_frames / n_lanes
        fits = [s for s in starts if s > (cuts[-1] if cuts else 0)]
        if fits:
            cuts.append(min(fits, key=lambda s: abs(s - ideal)))
    bounds = [0, *cuts, n_frames]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def decode_in_lanes(
    runtime: WhisperRuntime,
    mel: LogMel,
    base_options: DecodingOptions,
    settings: LoopSettings,
    piece_starts: Sequence[int],
    n_lanes: int,
    *,
    on_window: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[RawSegment]:
    """Segments of every lane, in time order; ``on_window(frames_done)`` after each batch."""
    import mlx.core as mx

    from stenogram.core.whisper_runtime import DecodeCancelled, _CancelCheck

    tokenizer = runtime.tokenizer(base_options.language, base_options.task)
    first_prompt = initial_prompt_tokens(tokenizer, settings)
    lanes = [Lane(a, b, list(first_prompt)) for a, b in plan_lanes(piece_starts, mel.n_frames, n_lanes)]
    while active := [(lane, w) for lane in lanes if (w := lane.next_window()) is not None]:
        if cancel is not None and cancel.is_set():
            raise DecodeCancelled
        features = [runtime.encode(mel.window(seek, size)) for _, (seek, size) in active]
        prompts = [lane.prompt for lane, _ in active]  # of different lengths: rows padded
        options = replace(at_temperature(base_options, 0.0), prompt=max(prompts, key=len))
        task = _beam_task(runtime, options)
        if cancel is not None:
            task.logit_filters.append(_CancelCheck(cancel))
        results = task.run(mx.concatenate(features, axis=0), prompts)
        for i, ((lane, (seek, size)), feats, result) in enumerate(zip(active, features, results, strict=True)):
            lane_options = replace(base_options, prompt=prompts[i])
            if needs_fallback(result, settings) and len(settings.temperatures) > 1:
                warmer = replace(settings, temperatures=settings.temperatures[1:])
                result = decode_with_fallback(runtime, feats, lane_options, warmer, cancel)
            window = split_window(result, tokenizer, seek, size)
            if not is_silent(result, settings) and settings.word_timestamps and window.segments:
                lane.last_speech_s = add_words(runtime, tokenizer, feats, window, lane.last_speech_s,
                                               task.audio_keys_values(i))
            lane.advance(window, result, settings, piece_starts)
        task.session = None  # the batch's keys and values, kept for its words, go now
        if on_window is not None:
            on_window(sum(min(lane.seek, lane.end) - lane.start for lane in lanes))
    return sorted((s for lane in lanes for s in lane.segments), key=lambda s: s.start)


def _beam_task(runtime: WhisperRuntime, options: DecodingOptions):
    from stenogram.core.beam_search import BeamDecodingTask

    return BeamDecodingTask(runtime.model, options)
