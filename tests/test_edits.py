"""Edits on the pure transcript model: word timing kept, exact undo, invariants after every step."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stenogram.core.edits import (
    ChangeText,
    DeleteSegments,
    EditError,
    EditHistory,
    InsertSegment,
    MergeWithNext,
    RenameSpeaker,
    ReplaceAll,
    SearchOptions,
    SetSpeaker,
    SetTimes,
    ShiftTimes,
    SplitSegment,
    find_matches,
)
from stenogram.core.transcript import InvariantError, Segment, Transcript, Word


def seg_from_words(words: list[tuple[int, int, str]], speaker: str | None = None) -> Segment:
    ws = tuple(Word(s, e, t, 0.9) for s, e, t in words)
    return Segment(ws[0].start_ms, ws[-1].end_ms, "".join(w.text for w in ws), ws, speaker,
                   avg_logprob=-0.3, no_speech_prob=0.01, compression_ratio=1.4)


def sample() -> Transcript:
    return Transcript(
        [
            seg_from_words([(0, 400, " Hello"), (450, 900, " big"), (950, 1500, " world.")], "Ann"),
            seg_from_words([(2000, 2300, " And"), (2300, 2800, " then"), (2900, 3500, " more.")],
                           "Bob"),
            seg_from_words([(4000, 4500, " Last"), (4500, 5200, " one.")], "Ann"),
        ],
        language="en",
    )


def test_change_text_keeps_timing_of_words_that_stay():
    t = sample()
    EditHistory(t).push(ChangeText(0, " Hello small world!"))
    words = t.segments[0].words
    assert [w.text for w in words] == [" Hello", " small", " world!"]
    assert (words[0].start_ms, words[0].end_ms) == (0, 400)
    assert (words[2].start_ms, words[2].end_ms) == (950, 1500)  # punctuation change keeps time
    assert (words[1].start_ms, words[1].end_ms) == (450, 900)  # replaced word takes its slot
    t.validate()


def test_inserted_words_are_interpolated_between_neighbours():
    t = sample()
    EditHistory(t).push(ChangeText(1, " And then a lot more."))
    words = t.segments[1].words
    assert [w.text for w in words] == [" And", " then", " a", " lot", " more."]
    assert words[1].end_ms <= words[2].start_ms <= words[3].end_ms <= words[4].start_ms
    assert words[2].start_ms >= 2800 and words[3].end_ms <= 2900
    assert words[4].start_ms == 2900
    t.validate()


def test_set_times_is_clamped_to_neighbours_and_keeps_words_inside():
    t = sample()
    h = EditHistory(t)
    h.push(SetTimes(1, start_ms=100, end_ms=2500))
    seg = t.segments[1]
    assert seg.start_ms == 1500 and seg.end_ms == 2500
    assert all(seg.start_ms <= w.start_ms <= w.end_ms <= seg.end_ms for w in seg.words)
    h.push(SetTimes(1, end_ms=99_999))
    assert t.segments[1].end_ms == 4000
    t.validate()


def test_drag_merges_into_one_undo_entry_until_sealed():
    t = sample()
    original = list(t.segments)
    h = EditHistory(t)
    for end in (1600, 1700, 1800):
        h.push(SetTimes(0, end_ms=end))
    assert t.segments[0].end_ms == 1800
    h.undo()
    assert t.segments == original and not h.can_undo()
    h.redo()
    h.seal()
    h.push(SetTimes(0, end_ms=1900))
    h.undo()
    assert t.segments[0].end_ms == 1800


def test_split_at_word_and_at_character():
    t = sample()
    h = EditHistory(t)
    h.push(SplitSegment(0, word_index=2))
    a, b = t.segments[0], t.segments[1]
    assert (a.text, b.text) == (" Hello big", " world.")
    assert (a.end_ms, b.start_ms) == (900, 950)
    h.undo()
    h.push(SplitSegment(0, char_pos=len(" Hello bi")))  # inside "big": the word is cut
    a, b = t.segments[0], t.segments[1]
    assert a.text == " Hello bi" and b.text == "g world."
    assert a.words[-1].text == " bi" and b.words[0].text == "g"
    assert 450 < a.end_ms == b.start_ms < 900
    t.validate()


def test_split_without_word_timings_uses_character_proportion():
    t = Transcript([Segment(0, 1000, "abcdefghij")])
    EditHistory(t).push(SplitSegment(0, char_pos=3))
    assert [(s.start_ms, s.end_ms, s.text) for s in t.segments] == [(0, 300, "abc"),
                                                                  (300, 1000, "defghij")]


def test_merge_with_next_joins_text_and_words():
    t = sample()
    EditHistory(t).push(MergeWithNext(0))
    m = t.segments[0]
    assert m.text == " Hello big world. And then more." and len(m.words) == 6
    assert (m.start_ms, m.end_ms, m.speaker) == (0, 3500, "Ann")
    assert "".join(w.text for w in m.words) == m.text
    t.validate()


def test_insert_refuses_overlap_and_delete_restores_on_undo():
    t = sample()
    h = EditHistory(t)
    with pytest.raises(EditError):
        h.push(InsertSegment(1, Segment(1000, 2100, " overlap")))
    h.push(InsertSegment(1, Segment(1600, 1900, " gap")))
    assert t.segments[1].text == " gap"
    h.push(DeleteSegments(0, 2))
    assert len(t.segments) == 2
    h.undo()
    h.undo()
    assert t.segments == sample().segments


def test_shift_is_clamped_at_zero_and_at_neighbours():
    t = sample()
    h = EditHistory(t)
    h.push(ShiftTimes(-10_000))
    assert t.segments[0].start_ms == 0  # nothing moved below zero
    h.push(ShiftTimes(5_000, start=1, stop=2))
    assert t.segments[1].end_ms == 4000  # stopped at the next segment
    h.push(ShiftTimes(250))
    assert t.segments[0].words[0].start_ms == 250
    t.validate()


def test_replace_all_is_one_undo_step_and_respects_options():
    t = sample()
    h = EditHistory(t)
    assert len(list(find_matches(t, "one", SearchOptions(whole_words=True)))) == 1
    h.push(ReplaceAll("AND", "and so", SearchOptions(case_sensitive=False, whole_words=True)))
    assert t.segments[1].text == " and so then more."
    assert t.segments[1].words[-1].start_ms == 2900
    h.push(ReplaceAll(r"(\w+)\.", r"\1!", SearchOptions(regex=True)))
    assert t.segments[0].text.endswith("world!") and t.segments[2].text.endswith("one!")
    h.undo()
    h.undo()
    assert t.segments == sample().segments
    with pytest.raises(EditError):
        ReplaceAll("(", "x", SearchOptions(regex=True))


def test_rename_speaker_applies_to_all_segments_and_signal_fires():
    t = sample()
    h = EditHistory(t)
    events = []
    h.changed.connect(events.append)
    h.push(RenameSpeaker("Ann", "Anna"))
    assert [s.speaker for s in t.segments] == ["Anna", "Bob", "Anna"]
    assert t.speakers == ["Anna", "Bob"]
    h.undo()
    assert [e.action for e in events] == ["push", "undo"]
    assert not h.is_clean or h.can_redo()


def test_clean_state_tracking():
    h = EditHistory(sample())
    assert h.is_clean
    h.push(SetSpeaker(0, "Zed"))
    assert not h.is_clean
    h.mark_clean()
    h.push(SetSpeaker(1, "Zed"))
    h.undo()
    assert h.is_clean


def test_validate_names_the_broken_invariant():
    t = Transcript([Segment(0, 1000, "a"), Segment(900, 1200, "b")])
    with pytest.raises(InvariantError, match="before segment 0 ends"):
        t.validate()


# --- property: any edit sequence, then undo all, gives back the original exactly ----------

WORDS = st.sampled_from([" the", " cat", " sat.", " on", " a", " mat,", " and", " so", " Yes!"])


@st.composite
def transcripts(draw) -> Transcript:
    n = draw(st.integers(0, 6))
    t_ms = draw(st.integers(0, 500))
    segments = []
    for _ in range(n):
        words = []
        for _ in range(draw(st.integers(1, 5))):
            t_ms += draw(st.integers(0, 300))
            dur = draw(st.integers(0, 700))
            words.append((t_ms, t_ms + dur, draw(WORDS)))
            t_ms += dur
        seg = seg_from_words(words, draw(st.sampled_from([None, "Ann", "Bob"])))
        if draw(st.booleans()):
            seg = Segment(seg.start_ms, seg.end_ms, seg.text, (), seg.speaker)
        segments.append(seg)
        t_ms += draw(st.integers(0, 1000))
    return Transcript(segments, language="en", model="tiny.en")


def edits(n_segments: int):
    idx = st.integers(0, max(0, n_segments + 1))
    ms = st.integers(-2000, 12_000)
    text = st.lists(WORDS, max_size=6).map("".join)
    return st.one_of(
        st.builds(ChangeText, idx, text),
        st.builds(SetTimes, idx, st.none() | ms, st.none() | ms),
        st.builds(lambda i, k: SplitSegment(i, word_index=k), idx, st.integers(0, 6)),
        st.builds(lambda i, k: SplitSegment(i, char_pos=k), idx, st.integers(0, 30)),
        st.builds(MergeWithNext, idx),
        st.builds(lambda i, s, d: InsertSegment(i, Segment(s, s + d, " new")), idx,
                  st.integers(0, 12_000), st.integers(0, 500)),
        st.builds(DeleteSegments, idx, st.integers(1, 3)),
        st.builds(ShiftTimes, ms, st.integers(0, 3), st.none() | st.integers(0, 8)),
        st.builds(ReplaceAll, st.sampled_from(["the", "cat", "a", "mat"]), text.map(str.strip),
                  st.builds(SearchOptions, st.just(False), st.booleans(), st.booleans())),
        st.builds(RenameSpeaker, st.sampled_from(["Ann", "Bob"]),
                  st.sampled_from(["Cy", "", "Bob"])),
        st.builds(SetSpeaker, idx, st.sampled_from([None, "Dee"])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), original=transcripts())
def test_random_edits_keep_invariants_and_undo_all_restores_exactly(data, original):
    t = copy.deepcopy(original)
    history = EditHistory(t)
    for _ in range(data.draw(st.integers(1, 12))):
        edit = data.draw(edits(len(t.segments)))
        before = list(t.segments)
        try:
            history.push(edit, merge=data.draw(st.booleans()))
        except EditError:
            assert t.segments == before  # a refused edit changes nothing
        assert t.problems() == []
        if data.draw(st.integers(0, 4)) == 0 and history.can_undo():
            history.undo()
            assert t.problems() == []
    while history.can_undo():
        history.undo()
        assert t.problems() == []
    assert t.segments == original.segments
    assert (t.language, t.model, t.options) == (original.language, original.model,
                                                original.options)
    while history.can_redo():  # and redo all is consistent too
        history.redo()
        assert t.problems() == []
