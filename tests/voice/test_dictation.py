"""Dictation on real speech: the right words on the clipboard, nothing from silence."""

from __future__ import annotations

import math
import re
import sys
import time

import numpy as np
import pytest
from scipy.signal import resample_poly
from voice_helpers import write_wav

from stenogram.core.audio_feed import feed_audio
from stenogram.core.dictation import (
    Dictation,
    DictationOptions,
    PasteUnavailable,
    paste_into_front_app,
    start_dictation,
)
from stenogram.core.engine import TranscribeOptions
from stenogram.core.recording_file import SAMPLE_RATE, read_wav

CLIP = "en_ls_2830-3980-0000.flac"  # "In every way they sought to undermine the authority of Saint Paul"


class ListClipboard:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def set_text(self, text: str) -> None:
        self.texts.append(text)


def words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


@pytest.fixture
def options(tiny_en) -> DictationOptions:
    return DictationOptions(
        transcribe=TranscribeOptions(model=str(tiny_en), language="en", temperatures=(0.0,))
    )


def test_pause_after_speech_ends_dictation_with_the_words(transcriber, options, load_16k):
    clip = load_16k(CLIP)
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    clipboard = ListClipboard()
    dictation = Dictation(transcriber, options, clipboard=clipboard)
    feed_audio(np.concatenate([silence, clip, silence, silence]), dictation.feed, speed=math.inf)
    result = dictation.result(timeout=120)
    assert result.ended_by == "silence"
    assert "undermine the authority of" in words(result.text)
    assert clipboard.texts == [result.text]
    # Silence trimmed: the kept audio is about the clip, not the 3 s of silence around it.
    kept = read_wav(result.audio_path)
    assert len(clip) - 0.5 * SAMPLE_RATE < len(kept) < len(clip) + 0.5 * SAMPLE_RATE
    assert result.transcript.media_path == str(result.audio_path)
    assert result.speech_ms[0] > 700  # speech began after the leading second of silence


def test_silence_and_noise_give_nothing(transcriber, options, load_16k):
    clipboard = ListClipboard()
    dictation = Dictation(transcriber, options, clipboard=clipboard)
    feed_audio(load_16k("noise_dishes.flac")[: 10 * SAMPLE_RATE], dictation.feed, speed=math.inf)
    result = dictation.result(timeout=60)
    assert result.ended_by == "timeout"
    assert result.text == "" and result.audio_path is None and result.speech_ms is None
    assert clipboard.texts == []


def test_stop_transcribes_what_was_said_so_far(transcriber, options, load_16k):
    clip = load_16k(CLIP)
    dictation = Dictation(transcriber, options)
    feed_audio(clip, dictation.feed, speed=math.inf)  # no pause after it
    assert not dictation.is_ended
    dictation.stop()
    result = dictation.result(timeout=120)
    assert result.ended_by == "stop"
    assert "saint paul" in words(result.text) or "st paul" in words(result.text)


@pytest.mark.audio
def test_dictating_into_the_microphone(virtual_mic, transcriber, options, load_16k, tmp_path):
    clip = load_16k(CLIP)
    wav = write_wav(tmp_path / "clip.wav", resample_poly(clip, 3, 1).astype(np.float32), 48_000)
    clipboard = ListClipboard()
    transcriber.load(options.transcribe.model)  # warm, as the app keeps it
    session = start_dictation(transcriber, options, clipboard=clipboard)
    time.sleep(0.3)
    virtual_mic.speak(wav).wait()
    result = session.result(timeout=120)
    assert result.ended_by == "silence"
    assert "undermine the authority of" in words(result.text)
    assert clipboard.texts == [result.text]
    assert result.audio_path.exists() and result.audio_path.name.startswith("dictation-")
    assert session.recorder.stop().path == result.audio_path


@pytest.mark.skipif(sys.platform == "darwin", reason="pastes for real on macOS")
def test_paste_elsewhere_says_why_not():
    with pytest.raises(PasteUnavailable) as err:
        paste_into_front_app()
    assert "macOS" in err.value.user_message
