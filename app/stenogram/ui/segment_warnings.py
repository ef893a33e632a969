"""Why a segment deserves a second look, in sentences for the editor's tooltips.

Flags come from the engine (`Segment.flags`, constants in core/transcript.py); subtitle rule
violations come from `core.subtitles.validate`. Qt-free.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from stenogram.core.transcript import (
    FLAG_HALLUCINATION,
    FLAG_LOW_CONFIDENCE,
    FLAG_NO_SPEECH,
    FLAG_REPETITION,
    Segment,
)

FLAG_SENTENCES = {
    FLAG_LOW_CONFIDENCE: "Low confidence: Whisper was unsure of these words; listen and check.",
    FLAG_HALLUCINATION: "Possibly invented: the text is unusually repetitive or lies over "
    "silence, a typical Whisper hallucination.",
    FLAG_NO_SPEECH: "Whisper thought there was no speech here, yet produced text.",
    FLAG_REPETITION: "A repeated phrase was cut here; some words may be missing.",
}


def flag_warnings(segment: Segment) -> list[str]:
    return [FLAG_SENTENCES.get(flag, f"Flagged: {flag}.") for flag in sorted(segment.flags)]


def violation_warnings(segments: Sequence[Segment], rules: Any) -> dict[int, list[str]]:
    """Subtitle rule violations by segment index, each segment taken as one cue.

    The text is wrapped greedily (stdlib textwrap) to count its lines: a warning needs the
    line count, not the core's optimal breaks, and this stays fast on 2,000 segments."""
    from stenogram.core.subtitles import Cue, validate

    width = rules.max_chars_per_line
    cues = [Cue(s.start_ms, s.end_ms, tuple(textwrap.wrap(s.text.strip(), width, break_long_words=False)),
                s.speaker) for s in segments]
    out: dict[int, list[str]] = {}
    for v in validate(cues, rules):
        out.setdefault(v.cue_index, []).append(f"Subtitle rule: {v.message}")
    return out
