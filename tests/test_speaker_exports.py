"""Speakers end to end: a real two-speaker call, transcribed with labels, in every export.

One transcription with the real tiny.en model and `speakers=True`; then the TXT, SRT, VTT and
JSON written from it (and the re-shaped subtitles the app writes by default) must name both
speakers, a rename in the core history must reach every export, and undo must restore them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stenogram.core.edits import EditHistory, RenameSpeaker
from stenogram.core.formats import read_transcript, render, write_transcript
from stenogram.core.subtitles import SubtitleRules, cues_to_transcript, shape
from stenogram.core.transcript import Transcript

FORMATS = ("txt", "srt", "vtt", "json")


def _mentions(text: str, fmt: str, speaker: str) -> bool:
    """Whether an export names `speaker` the way its format carries speakers."""
    if fmt == "vtt":
        return f"<v {speaker}>" in text
    if fmt == "json":
        return f'"speaker": "{speaker}"' in text
    return f"{speaker}: " in text


def _write_all(transcript: Transcript, folder: Path) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    texts = {}
    for fmt in FORMATS:
        path = write_transcript(transcript, folder / f"call.{fmt}", fmt, overwrite=True, speakers=True)
        texts[fmt] = Path(path).read_text(encoding="utf-8")
    return texts


@pytest.fixture(scope="module")
def labelled_call(shared_audio: Path, transcriber, tiny_en: Path) -> Transcript:
    from stenogram.core.engine import TranscribeOptions

    options = TranscribeOptions(model=str(tiny_en), language="en", speakers=True)
    return transcriber.transcribe(shared_audio / "en_two_speakers.flac", options)


@pytest.mark.slow
def test_both_speakers_reach_every_export_and_a_rename_is_undone(labelled_call: Transcript,
                                                                  tmp_path: Path) -> None:
    transcript = labelled_call
    assert transcript.speakers == ["Speaker 1", "Speaker 2"]
    assert all(s.speaker for s in transcript.segments if s.text.strip())

    before = _write_all(transcript, tmp_path / "before")
    for fmt, text in before.items():
        for speaker in ("Speaker 1", "Speaker 2"):
            assert _mentions(text, fmt, speaker), (fmt, speaker, text)
    # JSON keeps the labels exactly, segment by segment.
    read_back = read_transcript(tmp_path / "before" / "call.json")
    assert [s.speaker for s in read_back.segments] == [s.speaker for s in transcript.segments]
    # The app's default subtitles are re-shaped from word times: cues keep their speaker.
    shaped = cues_to_transcript(shape(transcript, SubtitleRules()), like=transcript)
    srt = render(shaped, "srt", speakers=True)
    assert "Speaker 1: " in srt and "Speaker 2: " in srt

    history = EditHistory(transcript)
    count = sum(1 for s in transcript.segments if s.speaker == "Speaker 1")
    history.push(RenameSpeaker("Speaker 1", "Diane"))
    renamed = _write_all(transcript, tmp_path / "renamed")
    for fmt, text in renamed.items():
        assert _mentions(text, fmt, "Diane") and _mentions(text, fmt, "Speaker 2"), (fmt, text)
        assert not _mentions(text, fmt, "Speaker 1"), (fmt, text)
    assert renamed["txt"].count("Diane: ") == count

    history.undo()  # one entry: every segment comes back
    restored = _write_all(transcript, tmp_path / "restored")
    for fmt in ("txt", "srt", "vtt"):
        assert restored[fmt] == before[fmt]
    assert [s for s in read_transcript(tmp_path / "restored" / "call.json").segments] == read_back.segments


@pytest.mark.slow
def test_exports_leave_speakers_out_when_asked(labelled_call: Transcript) -> None:
    for fmt in ("txt", "srt", "vtt"):
        text = render(labelled_call, fmt, speakers=False)
        assert "Speaker 1" not in text and "Speaker 2" not in text
        assert labelled_call.segments[1].text.strip() in text
