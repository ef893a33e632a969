"""Formats in and out: byte-identical SRT round trip, exact JSON, encodings, typed errors, fuzzing."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stenogram.core.formats import (
    FORMATS,
    FormatError,
    OutputExistsError,
    format_for_path,
    get_writer,
    parse,
    parse_srt,
    read_transcript,
    render,
    write_transcript,
)
from stenogram.core.transcript import FLAG_LOW_CONFIDENCE, Segment, Transcript, Word

SRT = """1
00:00:00,000 --> 00:00:02,500
Hello there.

2
00:00:02,600 --> 00:00:05,120
Two lines
of text, with ünïcödé.

3
01:02:03,004 --> 101:00:00,999
<i>Tags stay</i> as they are.

"""


def rich() -> Transcript:
    words = (Word(0, 400, " Hello", 0.9876543210123), Word(400, 1000, " world.", 0.5))
    return Transcript(
        segments=[
            Segment(0, 1000, " Hello world.", words, "Ann", -0.25, 0.0125, 1.3333333333333333,
                    frozenset({FLAG_LOW_CONFIDENCE})),
            Segment(1500, 2500, " Second & <last>", (), None),
        ],
        language="en", media_path="/media/clip.flac", model="tiny.en",
        options={"beam_size": 5, "temperature": [0.0, 0.2], "vad": True}, duration_ms=3000,
        created=datetime(2026, 11, 25, 9, 30, 1, 123456, tzinfo=UTC),
        modified=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )


def test_srt_round_trip_is_byte_identical():
    assert render(parse_srt(SRT), "srt") == SRT


srt_line = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                   max_size=30).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 9000),
                          st.lists(srt_line, min_size=1, max_size=3)), max_size=8))
def test_any_well_formed_srt_round_trips_byte_identical(cues):
    t, blocks = 0, []
    for n, (gap, dur, lines) in enumerate(cues, 1):
        start, end = t + gap, t + gap + dur
        t = end
        fmt = get_writer("srt").render_fn  # only for its timestamp layout via a one-cue file
        stamp = fmt(Transcript([Segment(start, end, "x")])).split("\n")[1]
        blocks.append(f"{n}\n{stamp}\n" + "\n".join(lines) + "\n\n")
    text = "".join(blocks)
    assert render(parse("\ufeff" + text, "srt"), "srt") == text


def test_srt_reads_crlf_and_missing_numbers():
    t = parse("00:00:01,000 --> 00:00:02,000\r\nA\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nB",
              "srt")
    assert [(s.start_ms, s.end_ms, s.text) for s in t.segments] == [(1000, 2000, "A"),
                                                                  (3000, 4000, "B")]


def test_overlapping_imported_cues_are_cut_to_keep_the_invariants():
    t = parse("1\n00:00:03,000 --> 00:00:05,000\nB\n\n2\n00:00:01,000 --> 00:00:04,000\nA\n",
              "srt")
    assert [(s.start_ms, s.end_ms) for s in t.segments] == [(1000, 3000), (3000, 5000)]
    t.validate()


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("1\n00:00:01,000 -> 00:00:02,000\nA\n", 2, "time line"),
        ("1\n00:00:01,000 --> 00:00:02,000\nA\n\nabc\n", 5, "cue number"),
        ("1\n00:00:05,000 --> 00:00:02,000\nA\n", 2, "ends before it starts"),
        ("1\n", 2, "end of the file"),
    ],
)
def test_malformed_srt_names_the_line(text, line, what):
    with pytest.raises(FormatError, match=what) as info:
        parse(text, "srt")
    assert info.value.line == line
    assert f"line {line}" in str(info.value)


def test_json_round_trips_everything_exactly(tmp_path: Path):
    t = rich()
    path = write_transcript(t, tmp_path / "t.json")
    back = read_transcript(path)
    assert back == t
    assert render(back, "json") == render(t, "json")


def test_json_errors_name_the_field_or_line():
    with pytest.raises(FormatError, match="line 2"):
        parse('{\n "format": nope}', "json")
    good = render(rich(), "json")
    with pytest.raises(FormatError, match=r"segments\[0\]\.start_ms"):
        parse(good.replace('"start_ms": 0', '"start_ms": "zero"', 1), "json")
    with pytest.raises(FormatError, match="before segment 0 ends"):
        parse(good.replace('"start_ms": 1500', '"start_ms": 500', 1), "json")


def test_vtt_export_uses_voice_tags_and_escapes_and_reads_back():
    t = rich()
    vtt = render(t, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Ann>Hello world.\n")
    assert "Second &amp; &lt;last&gt;" in vtt
    back = parse(vtt, "vtt")
    assert [(s.start_ms, s.end_ms, s.text, s.speaker) for s in back.segments] == [
        (0, 1000, "Hello world.", "Ann"), (1500, 2500, "Second & <last>", None)]


def test_vtt_reader_skips_notes_and_accepts_identifiers_and_short_times():
    text = ("WEBVTT - a title\n\nNOTE a comment\nover lines\n\nSTYLE\n::cue { color: red }\n\n"
            "intro\n00:01.500 --> 00:03.000 align:start\n<v.loud Bob>Hi <b>all</b>\n\n"
            "01:00:00.000 --> 01:00:01.000\nLater\n")
    t = parse(text, "vtt")
    assert [(s.start_ms, s.end_ms, s.text, s.speaker) for s in t.segments] == [
        (1500, 3000, "Hi all", "Bob"), (3_600_000, 3_601_000, "Later", None)]
    with pytest.raises(FormatError, match="line 1"):
        parse("1\n00:01.000 --> 00:02.000\nx\n", "vtt")
    with pytest.raises(FormatError, match="line 4"):
        parse("WEBVTT\n\nid\n00:01 --> 00:02\nx\n", "vtt")


def test_ass_and_ssa_round_trip_times_text_and_speakers():
    t = Transcript([Segment(0, 1230, " One\ntwo", (), "Ann"), Segment(2000, 3450, "Three")])
    for fmt in ("ass", "ssa"):
        back = parse(render(t, fmt), fmt)
        assert [(s.start_ms, s.end_ms, s.text, s.speaker) for s in back.segments] == [
            (0, 1230, "One\ntwo", "Ann"), (2000, 3450, "Three", None)]


def test_malformed_ass_names_the_line():
    text = "[Script Info]\n\n[Events]\nFormat: Layer, Start, End, Style, Text\n" \
           "Dialogue: 0,0:00:01.00,later,Default,Hi\n"
    with pytest.raises(FormatError, match="line 5.*end time"):
        parse(text, "ass")


def test_txt_and_tsv_layouts():
    t = rich()
    assert render(t, "txt") == "Ann: Hello world.\nSecond & <last>\n"
    assert render(t, "txt", speakers=False, timestamps=True) == (
        "[00:00:00.000 --> 00:00:01.000] Hello world.\n"
        "[00:00:01.500 --> 00:00:02.500] Second & <last>\n")
    assert render(t, "tsv", speakers=False) == (
        "start\tend\ttext\n0\t1000\tHello world.\n1500\t2500\tSecond & <last>\n")
    assert render(t, "srt").splitlines()[2] == "Ann: Hello world."


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "latin-1", "utf-32"])
def test_input_encodings(tmp_path: Path, encoding: str):
    text = "1\n00:00:00,000 --> 00:00:01,000\nCafé déjà vu\n\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "in.srt"
    path.write_bytes(data)
    assert read_transcript(path).segments[0].text == "Café déjà vu"


def test_writes_are_atomic_and_never_overwrite_unless_asked(tmp_path: Path):
    path = tmp_path / "out.srt"
    path.write_text("keep me")
    with pytest.raises(OutputExistsError):
        write_transcript(rich(), path)
    assert path.read_text() == "keep me"
    write_transcript(rich(), path, overwrite=True)
    assert path.read_text().startswith("1\n00:00:00,000")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.srt"]  # no temporary left


def test_registry_and_format_detection():
    assert set(FORMATS) >= {"srt", "vtt", "ass", "ssa", "txt", "tsv", "json"}
    assert format_for_path("a/b.WebVTT") == "vtt"
    with pytest.raises(FormatError, match="extension"):
        format_for_path("x.doc")
    with pytest.raises(FormatError, match="unknown format"):
        get_writer("docx")
    with pytest.raises(FormatError, match="cannot import"):
        parse("", "txt")


# --- fuzzing: importers never crash and never hang ------------------------------------------

VALID = {
    "srt": SRT,
    "vtt": "WEBVTT\n\n00:00.000 --> 00:01.000\n<v A>x\n\nid\n00:02.000 --> 00:03.000\ny\n",
    "ass": render(Transcript([Segment(0, 1000, "a", (), "S"), Segment(1000, 2000, "b")]), "ass"),
    "json": render(rich(), "json"),
}


@st.composite
def mutated(draw, fmt: str) -> str:
    text = VALID[fmt]
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.text(max_size=8) | st.sampled_from(["-->", "\n\n", ":", ",", "[", "{",
                                                              "99", "\ufeff", "<v ", "\r"]))
        if kind == "insert":
            text = text[:pos] + chunk + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + len(chunk):]
        else:
            text = text[:pos] + chunk + text[pos + len(chunk):]
    return text


@pytest.mark.parametrize("fmt", sorted(VALID))
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_fuzzed_importers_never_crash(fmt, data):
    text = data.draw(mutated(fmt) | st.text(max_size=200))
    try:
        t = parse(text, fmt)
    except FormatError as exc:
        assert str(exc)
    else:
        assert t.problems() == []


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_any_reader(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "in.srt"
    path.write_bytes(data)
    for fmt in ("srt", "vtt", "ass", "json"):
        with contextlib.suppress(FormatError):
            read_transcript(path, fmt)
