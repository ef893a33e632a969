"""Guards against Whisper's known failures, and flags that tell the editor what to doubt.

Whisper loops ("the the the …", one sentence again and again) and invents fluent text over
noise. Loops are cut here; doubtful segments are kept but flagged, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from stenogram.core.transcript import (
    FLAG_HALLUCINATION,
    FLAG_LOW_CONFIDENCE,
    FLAG_NO_SPEECH,
    FLAG_REPETITION,
    Segment,
    Word,
)


@dataclass(frozen=True)
class QualityThresholds:
    low_avg_logprob: float = -1.0  # Whisper's own fallback threshold
    low_word_probability: float = 0.45  # mean probability of a segment's words
    no_speech_prob: float = 0.6  # kept text although the window looked silent
    compression_ratio: float = 2.4  # gzip ratio of repetitive text
    max_repeats: int = 2  # identical consecutive sentences kept before a loop is cut
    max_short_repeats: int = 4  # the same for a few words ("Hello." said thrice is speech)
    short_words: int = 3  # a segment of at most this many words counts as short
    loop_gap_ms: int = 3000  # repeats further apart than this are said again, not a loop
    max_phrase_repeats: int = 3  # repeats of a phrase inside one segment before it is cut


_WORD = re.compile(r"\w+", re.UNICODE)


def flags_for(segment: Segment, t: QualityThresholds) -> frozenset[str]:
    """The warnings a segment deserves from its decoder statistics and word probabilities."""
    flags = set(segment.flags)
    if segment.avg_logprob is not None and segment.avg_logprob < t.low_avg_logprob:
        flags.add(FLAG_LOW_CONFIDENCE)
    if segment.words:
        mean_p = sum(w.probability for w in segment.words) / len(segment.words)
        if mean_p < t.low_word_probability:
            flags.add(FLAG_LOW_CONFIDENCE)
    if segment.no_speech_prob is not None and segment.no_speech_prob > t.no_speech_prob:
        flags.add(FLAG_NO_SPEECH)
    if segment.compression_ratio is not None and segment.compression_ratio > t.compression_ratio:
        flags.add(FLAG_HALLUCINATION)
    return frozenset(flags)


def cut_phrase_loop(segment: Segment, max_repeats: int) -> Segment:
    """Cut a phrase repeated more than ``max_repeats`` times in a row down to one occurrence."""
    words = segment.text.split()
    for size in range(1, min(8, len(words) // (max_repeats + 1)) + 1):
        for start in range(len(words) - size * (max_repeats + 1) + 1):
            phrase = [_norm(w) for w in words[start : start + size]]
            count = 1
            while _norm_all(words[start + count * size : start + (count + 1) * size]) == phrase:
                count += 1
            if count > max_repeats:
                keep = words[: start + size] + words[start + count * size :]
                return _shortened(segment, " ".join(keep), start + size, count, size)
    return segment


def cut_segment_loops(segments: list[Segment], t: QualityThresholds) -> list[Segment]:
    """Drop a segment that repeats the previous one's text too many times in a row."""
    out: list[Segment] = []
    run = 0
    for seg in segments:
        same = (
            bool(out)
            and seg.start_ms - out[-1].end_ms <= t.loop_gap_ms
            and _norm_all(seg.text.split()) == _norm_all(out[-1].text.split())
        )
        run = run + 1 if same else 1
        short = len(seg.text.split()) <= t.short_words
        if run > (t.max_short_repeats if short else t.max_repeats):
            out[-1] = replace(out[-1], flags=out[-1].flags | {FLAG_REPETITION})
            continue
        out.append(seg)
    return out


def _shortened(segment: Segment, text: str, kept_words: int, count: int, size: int) -> Segment:
    words: tuple[Word, ...] = ()
    if segment.words and len(segment.words) == len(segment.text.split()):
        cut_to = kept_words + (count - 1) * size
        words = segment.words[:kept_words] + segment.words[cut_to:]
        text = "".join(w.text for w in words).strip()
    end_ms = words[-1].end_ms if words else segment.end_ms
    return replace(
        segment,
        text=text,
        words=words,
        end_ms=max(segment.start_ms, end_ms),
        flags=segment.flags | {FLAG_REPETITION},
    )


def _norm(word: str) -> str:
    return "".join(_WORD.findall(word.lower()))


def _norm_all(words: list[str]) -> list[str]:
    return [_norm(w) for w in words]


def clamp_words(words: tuple[Word, ...], start_ms: int, end_ms: int) -> tuple[Word, ...]:
    """Words kept inside their segment and in order, none with a negative duration."""
    out: list[Word] = []
    floor = start_ms
    for w in words:
        s = min(max(w.start_ms, floor), end_ms)
        e = min(max(w.end_ms, s), end_ms)
        out.append(replace(w, start_ms=s, end_ms=e))
        floor = s
    return tuple(out)
