"""Whisper's long-form loop: slide a 30 s window over the log-Mel frames, decode, seek on.

The seek rules, the temperature fallback and the no-speech skip follow openai/whisper's
``transcribe`` (and so faster-whisper's), so a converted model gives the same greedy text and
timestamps. Each window is encoded once; fallback decodes reuse its features.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from stenogram.core.encoder_input import encoder_frames
from stenogram.core.log_mel import FRAMES_PER_SECOND, HOP_LENGTH, N_FRAMES, SAMPLE_RATE, LogMel

if TYPE_CHECKING:
    from mlx_whisper.decoding import DecodingOptions, DecodingResult
    from mlx_whisper.tokenizer import Tokenizer

    from stenogram.core.whisper_runtime import WhisperRuntime

INPUT_STRIDE = 2  # mel frames per audio token (the encoder's stride-2 convolution)
TIME_PRECISION = INPUT_STRIDE * HOP_LENGTH / SAMPLE_RATE  # 0.02 s per timestamp token
PROMPT_RESET_TEMPERATURE = 0.5  # above this, the previous text stops being the prompt
# After decoded speech, a rest this short cannot hold a word; decoded alone as a window,
# the model would only repeat the text before it (measured: 0.11 s left after a sentence).
MIN_REST_FRAMES = 20
FIT_OVERRUN_FRAMES = 50  # a fitted decode's text may start up to 0.5 s past the audio's end


@dataclass(frozen=True)
class LoopSettings:
    """What the loop needs from the user's options (see engine.TranscribeOptions)."""

    temperatures: tuple[float, ...]
    compression_ratio_threshold: float | None
    logprob_threshold: float | None
    no_speech_threshold: float | None
    condition_on_previous_text: bool
    word_timestamps: bool
    initial_prompt: str | None
    # A short window is encoded as its audio and this much of its padding (encoder_input);
    # None: the whole window
    fit_margin_frames: int | None = None


@dataclass
class RawSegment:
    """A segment as decoded, in seconds on the log-Mel timeline, before it becomes a Segment."""

    start: float
    end: float
    text: str
    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float
    words: list[dict] = field(default_factory=list)

    def as_timing_dict(self, seek: int) -> dict[str, Any]:
        return {"seek": seek, "start": self.start, "end": self.end, "tokens": self.tokens}


@dataclass
class Lane:
    """Whisper's loop over the frames [start, end): where its next window starts, the text so far
    (the next window's prompt) and the segments kept. ``decode_windows`` runs one over a whole
    file; ``window_lanes`` runs several side by side."""

    start: int
    end: int
    tokens: list[int] = field(default_factory=list)  # the initial prompt, then the text kept
    seek: int = -1  # -1: at ``start``
    segments: list[RawSegment] = field(default_factory=list)
    last_speech_s: float = 0.0  # where the last aligned word ended
    prompt_reset_since: int = 0

    def __post_init__(self) -> None:
        if self.seek < 0:
            self.seek = self.start

    def next_window(self) -> tuple[int, int] | None:
        """(first frame, frames) of the next window, or None when the lane is done."""
        if self.seek >= self.end or (self.segments and self.end - self.seek < MIN_REST_FRAMES):
            return None
        return self.seek, min(N_FRAMES, self.end - self.seek)

    @property
    def prompt(self) -> list[int]:
        return self.tokens[self.prompt_reset_since :]

    def advance(self, window: DecodedWindow, result: DecodingResult, settings: LoopSettings,
                speech_starts: Sequence[int]) -> None:
        """Keep a decoded window's segments (none when silent) and seek on, as Whisper does."""
        if is_silent(result, settings):
            self.seek = _next_piece(speech_starts, self.seek, self.seek, self.seek + window.size)
            return
        decoded_to = round((last_end(window.segments) or 0.0) * FRAMES_PER_SECOND)
        self.seek = _next_piece(speech_starts, self.seek, decoded_to, window.next_seek)
        kept = [s for s in window.segments if s.text.strip() and s.start != s.end]
        self.segments.extend(kept)
        self.tokens.extend(t for s in kept for t in s.tokens)
        if not settings.condition_on_previous_text or result.temperature > PROMPT_RESET_TEMPERATURE:
            self.prompt_reset_since = len(self.tokens)


def decode_windows(
    runtime: WhisperRuntime,
    mel: LogMel,
    base_options: DecodingOptions,
    settings: LoopSettings,
    *,
    on_window: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    speech_starts: Sequence[int] = (),
) -> list[RawSegment]:
    """Transcribe every window of ``mel``; ``on_window(frames_done)`` after each one.

    ``speech_starts`` are the frames where the VAD's speech pieces begin in ``mel``: when the
    model ends a window early (or calls it silent) with a piece still to come inside it, the
    next window starts at that piece instead of skipping it, as Whisper alone would.
    """
    tokenizer = runtime.tokenizer(base_options.language, base_options.task)
    lane = Lane(0, mel.n_frames, initial_prompt_tokens(tokenizer, settings))
    while (planned := lane.next_window()) is not None:
        if cancel is not None and cancel.is_set():
            from stenogram.core.whisper_runtime import DecodeCancelled

            raise DecodeCancelled
        seek, size = planned
        options = replace(base_options, prompt=lane.prompt)
        features, result = encode_and_decode(runtime, mel.window(seek, size), size, options, settings, cancel)
        window = split_window(result, tokenizer, seek, size)
        if not is_silent(result, settings) and settings.word_timestamps and window.segments:
            lane.last_speech_s = add_words(runtime, tokenizer, features, window, lane.last_speech_s)
        lane.advance(window, result, settings, speech_starts)
        if on_window is not None:
            on_window(min(lane.seek, mel.n_frames))
    return lane.segments


def initial_prompt_tokens(tokenizer: Tokenizer, settings: LoopSettings) -> list[int]:
    """The user's initial prompt as tokens (the first window's prompt), or none."""
    if not settings.initial_prompt:
        return []
    return tokenizer.encode(" " + settings.initial_prompt.strip())


def _next_piece(speech_starts: Sequence[int], seek: int, decoded_to: int, planned: int) -> int:
    """The planned next seek, or an earlier speech piece that nothing was decoded from yet."""
    for start in speech_starts:
        if start > seek and start >= decoded_to and start < planned:
            return start
    return planned


def last_end(segments: list[RawSegment]) -> float | None:
    """Where decoded speech ends: the last word's end, else the last segment's."""
    word_end = _last_word_end(segments)
    if word_end is not None:
        return word_end
    return segments[-1].end if segments else None


def encode_and_decode(
    runtime: WhisperRuntime,
    window: np.ndarray,
    size: int,
    options: DecodingOptions,
    settings: LoopSettings,
    cancel: threading.Event | None,
) -> tuple[Any, DecodingResult]:
    """Encode a window (only its audio, when fitting) and decode it with fallback.

    A fitted input's first decode is not trusted when it is repetitive (a loop the short
    input provoked), or unlikely where warmer temperatures would follow: the window is then
    encoded in full and decoded again as Whisper would. Text it starts past the audio, in the
    margin, is dropped: not seeing 30 s of padding, the decoder may say the last sentence
    again there.
    """
    frames = encoder_frames(size, settings.fit_margin_frames)
    if frames < N_FRAMES:
        features = runtime.encode(window[:frames])
        first = replace(settings, temperatures=settings.temperatures[:1])
        result = decode_with_fallback(runtime, features, options, first, cancel)
        # Merely unlikely text is redone only where warmer temperatures would be tried: with
        # greedy alone (dictation, live) the full window would give no better a second opinion.
        unlikely = len(settings.temperatures) > 1 and needs_fallback(result, settings)
        if not _too_repetitive(result, settings) and not unlikely:
            tokenizer = runtime.tokenizer(options.language, options.task)
            return features, _within_audio(result, tokenizer, size)
    features = runtime.encode(window)
    return features, decode_with_fallback(runtime, features, options, settings, cancel)


def _within_audio(result: DecodingResult, tokenizer: Tokenizer, size: int) -> DecodingResult:
    """A fitted decode without text that starts past the window's audio (invented in the
    margin), and with timestamps past the audio moved to its end (a short input's last
    segment often ends seconds late)."""
    begin, eot = tokenizer.timestamp_begin, tokenizer.eot
    last_stamp = begin + size // INPUT_STRIDE
    tokens = list(result.tokens)
    for i, (token, after) in enumerate(zip(tokens, tokens[1:])):
        if token >= begin and after < eot and (token - begin) * INPUT_STRIDE > size + FIT_OVERRUN_FRAMES:
            tokens = tokens[:i]
            break
    tokens = [min(t, last_stamp) if t >= begin else t for t in tokens]
    if tokens == list(result.tokens):
        return result
    return replace(result, tokens=tokens, text=tokenizer.decode([t for t in tokens if t < eot]).strip())


def decode_with_fallback(
    runtime: WhisperRuntime,
    features: Any,
    options: DecodingOptions,
    settings: LoopSettings,
    cancel: threading.Event | None,
) -> DecodingResult:
    """Decode at rising temperatures until the result is neither repetitive nor unlikely."""
    result = None
    for temperature in settings.temperatures:
        result = runtime.decode(features, at_temperature(options, temperature), cancel)
        if not needs_fallback(result, settings):
            break
    assert result is not None
    return result


def at_temperature(options: DecodingOptions, temperature: float) -> DecodingOptions:
    """The options of one decode: beams at temperature 0, best-of-n samples above it (mlx_whisper
    refuses the other's settings in each)."""
    if temperature > 0:
        return replace(options, temperature=temperature, beam_size=None, patience=None)
    return replace(options, temperature=temperature, best_of=None)


def needs_fallback(result: DecodingResult, s: LoopSettings) -> bool:
    if s.no_speech_threshold is not None and result.no_speech_prob > s.no_speech_threshold:
        return False  # silence: another temperature would only invent words
    too_unlikely = s.logprob_threshold is not None and result.avg_logprob < s.logprob_threshold
    return _too_repetitive(result, s) or too_unlikely


def _too_repetitive(result: DecodingResult, s: LoopSettings) -> bool:
    return s.compression_ratio_threshold is not None and result.compression_ratio > s.compression_ratio_threshold


def is_silent(result: DecodingResult, s: LoopSettings) -> bool:
    if s.no_speech_threshold is None or result.no_speech_prob <= s.no_speech_threshold:
        return False
    return not (s.logprob_threshold is not None and result.avg_logprob > s.logprob_threshold)


@dataclass
class DecodedWindow:
    seek: int
    size: int  # frames of real audio in the window
    segments: list[RawSegment]
    next_seek: int
    single_timestamp_ending: bool


def split_window(result: DecodingResult, tokenizer: Tokenizer, seek: int, size: int) -> DecodedWindow:
    """Cut a window's tokens into segments at pairs of timestamp tokens; find the next seek."""
    tokens = np.array(result.tokens, dtype=np.int64)
    offset = seek / FRAMES_PER_SECOND
    is_ts = tokens >= tokenizer.timestamp_begin
    single_ending = is_ts[-2:].tolist() == [False, True]
    cuts = (np.where(is_ts[:-1] & is_ts[1:])[0] + 1).tolist()

    def make(start: float, end: float, part: np.ndarray) -> RawSegment:
        toks = part.tolist()
        text = tokenizer.decode([t for t in toks if t < tokenizer.eot])
        return RawSegment(
            start=start,
            end=end,
            text=text,
            tokens=toks,
            avg_logprob=float(result.avg_logprob),
            no_speech_prob=float(result.no_speech_prob),
            compression_ratio=float(result.compression_ratio),
            temperature=float(result.temperature),
        )

    segments: list[RawSegment] = []
    if cuts:
        if single_ending:
            cuts.append(len(tokens))
        last = 0
        for cut in cuts:
            part = tokens[last:cut]
            start = offset + (int(part[0]) - tokenizer.timestamp_begin) * TIME_PRECISION
            end = offset + (int(part[-1]) - tokenizer.timestamp_begin) * TIME_PRECISION
            segments.append(make(start, end, part))
            last = cut
        if single_ending:
            next_seek = seek + size
        else:
            next_seek = seek + (int(tokens[last - 1]) - tokenizer.timestamp_begin) * INPUT_STRIDE
    else:
        duration = size / FRAMES_PER_SECOND
        stamps = tokens[is_ts]
        if len(stamps) and int(stamps[-1]) != tokenizer.timestamp_begin:
            duration = (int(stamps[-1]) - tokenizer.timestamp_begin) * TIME_PRECISION
        segments.append(make(offset, offset + duration, tokens))
        next_seek = seek + size
    return DecodedWindow(seek, size, segments, next_seek, single_ending)


def add_words(
    runtime: WhisperRuntime,
    tokenizer: Tokenizer,
    features: Any,
    window: DecodedWindow,
    last_speech_s: float,
    cross_kv: Any = None,
) -> float:
    """Word timings from cross-attention; may move the next seek to the last word's end.
    ``cross_kv``: the window's cross-attention keys and values, when its decode kept them."""
    dicts = [s.as_timing_dict(window.seek) for s in window.segments]
    runtime.align_words(dicts, tokenizer, features, window.size, last_speech_s, cross_kv)
    for seg, d in zip(window.segments, dicts, strict=True):
        seg.start, seg.end, seg.words = d["start"], d["end"], d.get("words", [])
    word_end = _last_word_end(window.segments)
    if word_end is None:
        return last_speech_s
    if not window.single_timestamp_ending and word_end > window.seek / FRAMES_PER_SECOND:
        window.next_seek = round(word_end * FRAMES_PER_SECOND)
    return word_end


def _last_word_end(segments: list[RawSegment]) -> float | None:
    ends = [w["end"] for s in segments for w in s.words]
    return ends[-1] if ends else None
