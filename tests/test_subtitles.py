"""Subtitle shaping on real model output: every rule met that can be met, the rest reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from stenogram.core.formats import parse, read_transcript, render
from stenogram.core.subtitles import (
    RULE_MAX_CHARS,
    RULE_MAX_CPS,
    RULE_MAX_DURATION,
    RULE_MAX_LINES,
    RULE_MIN_DURATION,
    RULE_MIN_GAP,
    RULE_OVERLAP,
    Cue,
    SubtitleRules,
    cues_to_transcript,
    layout_lines,
    shape,
    validate,
)
from stenogram.core.transcript import Segment, Transcript, Word

DATA = Path(__file__).parent / "data"
REAL = ["en_long_librispeech.tiny_en.json", "en_two_speakers.tiny_en.json"]
RULE_SETS = [
    SubtitleRules(),
    SubtitleRules(max_chars_per_line=32, max_lines=1, max_cps=15, min_duration_ms=1200,
                  max_duration_ms=4000, min_gap_ms=120),
    SubtitleRules(max_chars_per_line=20, max_lines=3, max_cps=21, min_duration_ms=500,
                  max_duration_ms=7000, min_gap_ms=0),
]


def _norm_words(text: str) -> list[str]:
    return text.split()


def _assert_only_unavoidable(cues: list[Cue], rules: SubtitleRules, t: Transcript) -> None:
    media_end = t.duration_ms
    for v in validate(cues, rules):
        cue = cues[v.cue_index]
        assert v.rule not in (RULE_MIN_GAP, RULE_OVERLAP, RULE_MAX_LINES), v
        if v.rule in (RULE_MAX_CHARS, RULE_MAX_DURATION):
            assert len(cue.words) == 1, f"{v}: a single word is the only excuse"
        if v.rule in (RULE_MIN_DURATION, RULE_MAX_CPS):
            # only when boxed in: no silence left on either side to stretch into
            floor = cues[v.cue_index - 1].end_ms + rules.min_gap_ms if v.cue_index else 0
            ceiling = (cues[v.cue_index + 1].start_ms - rules.min_gap_ms
                       if v.cue_index + 1 < len(cues) else media_end)
            boxed = cue.start_ms <= floor and cue.end_ms >= ceiling
            at_limit = cue.duration_ms >= rules.max_duration_ms
            assert boxed or at_limit, f"{v}: {cue.start_ms}-{cue.end_ms}, room {floor}-{ceiling}"


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("rules", RULE_SETS, ids=["broadcast", "one-line", "narrow"])
def test_shaping_real_transcript_meets_every_rule_it_can(name: str, rules: SubtitleRules):
    t = read_transcript(DATA / name)
    cues = shape(t, rules)
    # nothing lost, nothing split, in order
    assert _norm_words(" ".join(c.text for c in cues)) == _norm_words(t.text)
    for a, b in zip(cues, cues[1:], strict=False):
        assert a.end_ms <= b.start_ms
    for c in cues:
        assert all(c.start_ms <= w.start_ms <= w.end_ms <= c.end_ms for w in c.words)
        for line in c.lines:
            assert line == line.strip() and "  " not in line
    _assert_only_unavoidable(cues, rules, t)
    # what the shaped cues export as is a valid transcript
    shaped = cues_to_transcript(cues, like=t)
    shaped.validate()
    assert parse(render(shaped, "srt"), "srt").segments[0].text == cues[0].text


def test_breaks_prefer_sentence_end_then_clause_over_anywhere():
    words = [" We", " went", " home", " early.", " Then,", " after", " dinner,", " we", " read",
             " quietly", " by", " the", " fire", " until", " late", " at", " night", " again."]
    t = Transcript([_timed(words, 0, 300)])
    cues = shape(t, SubtitleRules(max_chars_per_line=30, max_lines=1))
    # sentence end, then a comma, then before a conjunction ("until"), never after "the"
    assert [c.text for c in cues] == ["We went home early.", "Then, after dinner,",
                                      "we read quietly by the fire", "until late at night again."]


def test_speaker_change_and_long_pause_always_break():
    t = Transcript([
        Segment(0, 1000, " Hi there.", (Word(0, 400, " Hi"), Word(400, 1000, " there.")), "Ann"),
        Segment(1000, 2000, " Hello", (Word(1000, 2000, " Hello"),), "Bob"),
        Segment(5000, 6000, " you", (Word(5000, 6000, " you"),), "Bob"),
    ])
    cues = shape(t)
    assert [c.text for c in cues] == ["Hi there.", "Hello", "you"]
    assert [c.speaker for c in cues] == ["Ann", "Bob", "Bob"]


def test_short_cue_is_extended_into_following_silence():
    t = Transcript([Segment(1000, 1200, " Yes.", (Word(1000, 1200, " Yes."),)),
                    Segment(9000, 9500, " No.", (Word(9000, 9500, " No."),))])
    cues = shape(t)
    assert cues[0].duration_ms == 833 and cues[0].start_ms == 1000
    assert validate(cues) == []


def test_fast_speech_takes_time_from_the_silence_before():
    words = [f" word{i}" for i in range(6)]
    seg = _timed(words, 5000, 120)  # 6 x 6 chars in 0.72 s: far too fast
    cues = shape(Transcript([seg], duration_ms=5720))
    assert cues[0].end_ms == 5720 and cues[0].start_ms < 5000
    assert validate(cues) == []


def test_transcript_without_word_timings_is_shaped_from_text():
    srt = ("1\n00:00:00,000 --> 00:00:08,000\nThis imported subtitle has a very long line that "
           "certainly does not fit the rules for reading at all.\n")
    cues = shape(parse(srt, "srt"))
    assert len(cues) >= 2
    assert all(len(line) <= 42 for c in cues for line in c.lines)
    assert validate(cues) == []


def test_layout_balances_lines_and_never_splits_words():
    words = [f"w{i:02d}x" for i in range(11)]
    lines = layout_lines(words, 42)
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 6
    assert " ".join(lines).split() == words
    assert layout_lines(["supercalifragilisticexpialidocious"], 10) == (
        "supercalifragilisticexpialidocious",)


def test_validate_reports_each_rule_with_its_cue():
    rules = SubtitleRules()
    cues = [
        Cue(0, 500, ("x" * 50,)),
        Cue(520, 9000, ("a", "b", "c")),
        Cue(8000, 8900, ("fast " * 4,)),
    ]
    found = {(v.cue_index, v.rule) for v in validate(cues, rules)}
    assert found == {(0, RULE_MAX_CHARS), (0, RULE_MIN_DURATION), (0, RULE_MAX_CPS),
                     (0, RULE_MIN_GAP), (1, RULE_MAX_LINES), (1, RULE_MAX_DURATION),
                     (1, RULE_OVERLAP), (2, RULE_MAX_CPS)}


def test_rules_refuse_nonsense():
    with pytest.raises(ValueError, match="minimum duration"):
        SubtitleRules(min_duration_ms=8000)
    with pytest.raises(ValueError, match="reading speed"):
        SubtitleRules(max_cps=0)


def _timed(words: list[str], start: int, per_word: int) -> Segment:
    ws = tuple(Word(start + i * per_word, start + (i + 1) * per_word, w)
               for i, w in enumerate(words))
    return Segment(ws[0].start_ms, ws[-1].end_ms, "".join(words), ws)
