"""The transcript document: words and segments with integer-millisecond times.

Times are integer milliseconds everywhere in the core (``*_ms``); conversion from Whisper's
float seconds happens once, in the engine. Word and Segment are immutable values, so an edit
replaces them and its inverse can put the originals back exactly.
"""

from __future__ import annotations

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
