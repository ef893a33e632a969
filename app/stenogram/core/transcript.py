"""The transcript document: words and segments with integer-millisecond times.

Times are integer milliseconds everywhere in the core (``*_ms``); conversion from Whisper's
float seconds happens once, in the engine. Word and Segment are immutable values, so an edit
replaces them and its inverse can put the originals back exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Why the engine or a check marked a segment; the editor shows each as a warning.
FLAG_LOW_CONFIDENCE = "low_confidence"  # low average log-probability or low word probabilities
FLAG_NO_SPEECH = "no_speech"  # Whisper thought the window held no speech, yet produced text
FLAG_REPETITION = "repetition"  # a repeated-phrase loop was cut here
FLAG_HALLUCINATION = "possible_hallucination"  # high compression ratio or text over silence


@dataclass(frozen=True, slots=True)
class Word:
    start_ms: int
    end_ms: int
    text: str  # as Whisper emits it, including its leading space: "".join(words) == text
    probability: float = 1.0

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class Segment:
    start_ms: int
    end_ms: int
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    # Decoder confidence for the window this segment came from (None when not decoded).
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    flags: frozenset[str] = frozenset()

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Transcript:
    """A transcript of one medium. Segments are ordered and never overlap."""

    segments: list[Segment] = field(default_factory=list)
    language: str | None = None
    media_path: str | None = None
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the options that produced it
    duration_ms: int | None = None  # length of the medium
    created: datetime = field(default_factory=utc_now)
    modified: datetime = field(default_factory=utc_now)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    # --- helpers (added by the documents area) -------------------------------------------

    @property
    def speakers(self) -> list[str]:
        """Speaker names in order of first appearance."""
        seen: dict[str, None] = {}
        for seg in self.segments:
            if seg.speaker:
                seen.setdefault(seg.speaker, None)
        return list(seen)

    def problems(self) -> list[str]:
        """Every broken invariant, as sentences; empty when the transcript is consistent."""
        return check_segments(self.segments)

    def validate(self) -> None:
        """Raise InvariantError when segments overlap, run backwards or hold stray words."""
        problems = self.problems()
        if problems:
            raise InvariantError(problems)


class InvariantError(ValueError):
    """A transcript broke one of its invariants (ordering, overlap, words outside segments)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}" if problems else "invalid transcript")


def segment_problems(seg: Segment, index: int) -> list[str]:
    """Invariants of one segment on its own: no negative durations, words inside and in order."""
    out: list[str] = []
    if seg.start_ms < 0:
        out.append(f"segment {index} starts before zero ({seg.start_ms} ms)")
    if seg.end_ms < seg.start_ms:
        out.append(f"segment {index} ends ({seg.end_ms} ms) before it starts ({seg.start_ms} ms)")
    prev_end: int | None = None
    for k, w in enumerate(seg.words):
        if w.end_ms < w.start_ms:
            out.append(f"segment {index} word {k} ends before it starts")
        if w.start_ms < seg.start_ms or w.end_ms > seg.end_ms:
            out.append(
                f"segment {index} word {k} ({w.start_ms}-{w.end_ms} ms) lies outside its "
                f"segment ({seg.start_ms}-{seg.end_ms} ms)"
            )
        if prev_end is not None and w.start_ms < prev_end:
            out.append(f"segment {index} word {k} overlaps the word before it")
        prev_end = w.end_ms if prev_end is None else max(prev_end, w.end_ms)
    return out


def check_segments(segments: list[Segment], start: int = 0, stop: int | None = None) -> list[str]:
    """The one place invariants are checked: segments[start:stop] and their ordering with the
    neighbours just outside that range (so an edit can check only what it touched)."""
    n = len(segments)
    stop = n if stop is None else min(stop, n)
    start = max(0, start)
    out: list[str] = []
    for i in range(start, stop):
        out.extend(segment_problems(segments[i], i))
    for i in range(max(1, start), min(n, stop + 1)):
        if segments[i].start_ms < segments[i - 1].end_ms:
            out.append(
                f"segment {i} starts ({segments[i].start_ms} ms) before segment {i - 1} ends "
                f"({segments[i - 1].end_ms} ms)"
            )
    return out


_TOKEN = re.compile(r"\s*\S+")


def split_tokens(text: str) -> list[str]:
    """Words of a text with their leading whitespace, the way Whisper spells them."""
    return _TOKEN.findall(text)


def estimate_words(text: str, start_ms: int, end_ms: int) -> tuple[Word, ...]:
    """Word timings spread over [start_ms, end_ms] in proportion to their length, for text that
    came without word timings (imported subtitles). Probability 0: these times are guesses."""
    tokens = split_tokens(text)
    if not tokens:
        return ()
    weights = [len(t.strip()) + 1 for t in tokens]
    total = sum(weights)
    span = max(0, end_ms - start_ms)
    words: list[Word] = []
    acc = 0
    for tok, wgt in zip(tokens, weights, strict=True):
        w_start = start_ms + span * acc // total
        acc += wgt
        w_end = start_ms + span * acc // total
        words.append(Word(w_start, w_end, tok, 0.0))
    return tuple(words)
