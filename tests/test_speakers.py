"""Who spoke when, on real recordings, and speaker labels put on transcripts."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from stenogram.core.media import load_audio
from stenogram.core.speaker_errors import DiarizationCancelled, DiarizationError
from stenogram.core.speakers import (
    DiarizationOptions,
    SpeakerTurn,
    assign_speakers,
    diarize,
    smooth_labels,
    turns_from_windows,
)
from stenogram.core.transcript import Segment, Transcript, Word

RATE = 16_000
MALE = ("en_ls_1089-134686-0002.flac",)  # 6.625 s
FEMALE = ("en_ls_1221-135766-0001.flac",)  # 16.71 s, a different reader


def _join(shared_audio: Path, *parts: str | float) -> np.ndarray:
    """Clips (by name) and silences (in seconds) one after another."""
    pieces = [
        np.zeros(int(p * RATE), np.float32) if isinstance(p, float) else load_audio(shared_audio / p)
        for p in parts
    ]
    return np.concatenate(pieces)


def _speakers(turns: list[SpeakerTurn]) -> set[str]:
    return {t.speaker for t in turns}


def _speaker_at(turns: list[SpeakerTurn], seconds: float) -> str | None:
    ms = seconds * 1000
    return next((t.speaker for t in turns if t.start_ms <= ms < t.end_ms), None)


def test_two_readers_are_told_apart_at_the_right_time(shared_audio: Path) -> None:
    audio = _join(shared_audio, *MALE, *FEMALE)
    change_s = len(load_audio(shared_audio / MALE[0])) / RATE
    progress: list[float] = []
    turns = diarize(audio, on_progress=progress.append)

    assert _speakers(turns) == {"Speaker 1", "Speaker 2"}
    assert turns[0].speaker == "Speaker 1"
    changes = [b.start_ms / 1000 for a, b in zip(turns, turns[1:]) if a.speaker != b.speaker]
    assert len(changes) == 1
    assert abs(changes[0] - change_s) <= 0.5
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert all(a.end_ms <= b.start_ms for a, b in zip(turns, turns[1:]))


def test_one_reader_is_one_speaker(shared_audio: Path) -> None:
    clips = [f"en_ls_1089-134686-00{n}.flac" for n in ("02", "05", "10", "20")]
    turns = diarize(_join(shared_audio, *clips))
    assert _speakers(turns) == {"Speaker 1"}
    assert turns[0].start_ms < 1000 and turns[-1].end_ms > 36_000


def test_one_voice_with_long_silences_is_one_speaker(shared_audio: Path) -> None:
    audio = _join(
        shared_audio, 3.0, "en_ls_1221-135766-0001.flac", 6.0, "en_ls_1221-135766-0002.flac", 4.0
    )
    turns = diarize(audio)
    assert _speakers(turns) == {"Speaker 1"}
    # Nothing is said in the silences, so no turn covers them.
    assert _speaker_at(turns, 1.5) is None and _speaker_at(turns, 22.5) is None


def test_phone_call_of_two_women_gives_two_speakers(shared_audio: Path) -> None:
    # Reference turns (refs.tsv): Diane alone at 10.6-14.5 and 18.6-21.5 s; Sheila alone at
    # 14.7-17.9 and 21.8-27.8 s. The first 6.7 s are near-silent.
    turns = diarize(load_audio(shared_audio / "en_two_speakers.flac"))
    assert len(_speakers(turns)) == 2
    assert turns[0].start_ms > 6000
    diane, sheila = _speaker_at(turns, 12.0), _speaker_at(turns, 25.0)
    assert diane is not None and sheila is not None and diane != sheila
    assert _speaker_at(turns, 20.5) == diane
    assert _speaker_at(turns, 16.5) == sheila


def test_a_given_speaker_count_is_used(shared_audio: Path) -> None:
    two_readers = _join(shared_audio, *MALE, *FEMALE)
    assert _speakers(diarize(two_readers, DiarizationOptions(num_speakers=1))) == {"Speaker 1"}
    one_reader = _join(shared_audio, *MALE, "en_ls_1089-134686-0020.flac")
    assert len(_speakers(diarize(one_reader))) == 1
    assert len(_speakers(diarize(one_reader, DiarizationOptions(num_speakers=2)))) == 2


def test_silence_and_noise_give_no_turns(shared_audio: Path) -> None:
    assert diarize(np.zeros(5 * RATE, np.float32)) == []
    assert diarize(np.zeros(0, np.float32)) == []


def test_cancel_stops_diarization(shared_audio: Path) -> None:
    cancel = threading.Event()
    audio = _join(shared_audio, *MALE, *FEMALE)

    def on_progress(fraction: float) -> None:
        if fraction > 0.05:
            cancel.set()

    with pytest.raises(DiarizationCancelled) as err:
        diarize(audio, on_progress=on_progress, cancel=cancel)
    assert "cancelled" in err.value.user_message


def test_bad_input_gives_typed_errors() -> None:
    with pytest.raises(DiarizationError, match="mono"):
        diarize(np.zeros((2, 100), np.float32))
    with pytest.raises(DiarizationError, match="floating"):
        diarize(np.zeros(100, np.int16))
    with pytest.raises(DiarizationError, match="invalid"):
        diarize(np.full(100, np.nan, np.float32))
    with pytest.raises(DiarizationError, match="at least 1"):
        DiarizationOptions(num_speakers=0)


def test_short_runs_are_smoothed_and_turns_cut_between_windows() -> None:
    times = np.arange(0.25, 6.0, 0.5)  # 12 windows in one region
    labels = np.array([0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1])
    smoothed = smooth_labels(labels, times, [(0.0, 6.0)], width=3)
    assert smoothed.tolist() == [0] * 7 + [1] * 5
    turns = turns_from_windows(times, smoothed, [(0.0, 6.0)])
    assert turns == [SpeakerTurn(0, 3500, "Speaker 1"), SpeakerTurn(3500, 6000, "Speaker 2")]


def _words(*spec: tuple[int, int, str]) -> tuple[Word, ...]:
    return tuple(Word(a, b, text, 0.9) for a, b, text in spec)


def test_assign_speakers_splits_a_segment_where_the_speaker_changes() -> None:
    first = Segment(
        0, 4000, " Hello there. Hi, how are you?",
        words=_words((0, 500, " Hello"), (500, 1000, " there."), (2000, 2400, " Hi,"),
                     (2400, 2800, " how"), (2800, 3200, " are"), (3200, 4000, " you?")),
        avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.3, flags=frozenset({"x"}),
    )
    second = Segment(4500, 6000, " Fine.", words=_words((4500, 6000, " Fine.")))
    untimed = Segment(6500, 7000, " (laughs)")
    transcript = Transcript([first, second, untimed], language="en")
    # The diarizer named them the other way round: labels follow the transcript's order.
    turns = [
        SpeakerTurn(0, 1500, "Speaker 2"),
        SpeakerTurn(1800, 4100, "Speaker 1"),
        SpeakerTurn(4300, 7200, "Speaker 2"),
    ]
    result = assign_speakers(transcript, turns)

    segs = result.segments
    assert [(s.start_ms, s.end_ms, s.text, s.speaker) for s in segs] == [
        (0, 1000, " Hello there.", "Speaker 1"),
        (2000, 4000, " Hi, how are you?", "Speaker 2"),
        (4500, 6000, " Fine.", "Speaker 1"),
        (6500, 7000, " (laughs)", "Speaker 1"),
    ]
    assert segs[0].words == first.words[:2] and segs[1].words == first.words[2:]
    for piece in segs[:2]:
        assert (piece.avg_logprob, piece.no_speech_prob, piece.compression_ratio, piece.flags) == (
            -0.2, 0.01, 1.3, frozenset({"x"})
        )
    assert transcript.segments[0].speaker is None  # the input is left alone
    assert result.language == "en"


def test_assign_speakers_without_turns_clears_labels() -> None:
    transcript = Transcript([Segment(0, 1000, " Hi.", speaker="Old")])
    assert assign_speakers(transcript, []).segments[0].speaker is None


@pytest.mark.slow
def test_speakers_on_real_words(shared_audio: Path, transcriber, tiny_en) -> None:
    from stenogram.core.engine import TranscribeOptions

    audio = _join(shared_audio, *MALE, *FEMALE)
    change_ms = len(load_audio(shared_audio / MALE[0])) * 1000 // RATE
    options = TranscribeOptions(model=str(tiny_en), word_timestamps=True)
    transcript = transcriber.transcribe(audio, options)
    labelled = assign_speakers(transcript, diarize(audio))

    words = [(w, s.speaker) for s in labelled.segments for w in s.words]
    assert [w for w, _ in words] == [w for s in transcript.segments for w in s.words]
    assert {sp for _, sp in words} == {"Speaker 1", "Speaker 2"}
    for word, speaker in words:
        if word.end_ms < change_ms - 500:
            assert speaker == "Speaker 1", word
        elif word.start_ms > change_ms + 500:
            assert speaker == "Speaker 2", word
    assert labelled.text == transcript.text
