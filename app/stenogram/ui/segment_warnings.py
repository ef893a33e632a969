"""Why a segment deserves a second look, in sentences for the editor's tooltips.

Flags come from the engine (`Segment.flags`, constants in core/transcript.py); subtitle rule
violations come from `core.subtitles.validate`. Qt-free.
"""

from __future__ import annotations

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
    """Subtitle rule violations by segment index, each segment laid out as its cue would be."""
    from stenogram.core.subtitles import Cue, layout_lines, validate

    cues = [
        Cue(s.start_ms, s.end_ms, layout_lines(s.text.split(), rules.max_chars_per_line) if s.text.strip() else (),
            s.speaker, s.words)
        for s in segments
    ]
    out: dict[int, list[str]] = {}
    for v in validate(cues, rules):
        out.setdefault(v.cue_index, []).append(f"Subtitle rule: {v.message}")
    return out
