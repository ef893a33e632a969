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
        transcribe=TranscribeOptions(
            model=str(tiny_en), language="en", temperatures=(0.0,), fit_encoder_input=True
        )
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
    assert result.early  # transcribed while the pause was still only a pause


def test_speaking_on_after_a_short_pause_keeps_every_word(transcriber, options, espeak_wav, tmp_path):
    first = _speech(espeak_wav("The quick brown fox jumps over the lazy dog."))
    second = _speech(espeak_wav("Then it ran into the green forest."))
    gap = np.zeros(SAMPLE_RATE * 45 // 100, dtype=np.float32)  # long enough to start early work
    tail = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    dictation = Dictation(transcriber, options)
    feed_audio(np.concatenate([first, gap, second, tail]), dictation.feed, speed=math.inf)
    result = dictation.result(timeout=120)
    assert result.ended_by == "silence"
    said = words(result.text)
    assert "lazy dog" in said and "green forest" in said  # the early text of the first part was dropped
    assert result.early


def test_stop_during_the_final_pause_uses_the_early_text(transcriber, options, load_16k):
    clip = load_16k(CLIP)
    pause = np.zeros(SAMPLE_RATE * 4 // 10, dtype=np.float32)
    dictation = Dictation(transcriber, options)
    feed_audio(np.concatenate([clip, pause]), dictation.feed, speed=math.inf)
    time.sleep(0.2)  # the early transcription is under way
    dictation.stop()
    result = dictation.result(timeout=120)
    assert result.ended_by == "stop" and result.early
    assert "undermine the authority of" in words(result.text)
    assert result.speech_ms[1] < len(clip) * 1000 // SAMPLE_RATE + 300  # the pause is not speech


def _speech(wav) -> np.ndarray:
    """espeak-ng's sentence without the quiet it adds around it, so the gaps are ours."""
    from voice_helpers import decode_16k

    audio = decode_16k(wav)
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[loud[0] : loud[-1] + 1]


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


def test_a_process_that_dictated_exits_cleanly(tiny_en, shared_audio, tmp_path):
    """MLX streams left by the dictation's threads used to abort the process at exit
    ("terminate called without an active exception"), in most runs of this script."""
    import subprocess

    script = tmp_path / "dictate_and_exit.py"
    script.write_text(
        "import math, sys\n"
        "import stenogram.core\n"
        "import numpy as np\n"
        "from stenogram.core.audio_feed import feed_audio\n"
        "from stenogram.core.dictation import Dictation, DictationOptions\n"
        "from stenogram.core.engine import TranscribeOptions, Transcriber\n"
        "from stenogram.core.media import load_audio\n"
        "opts = TranscribeOptions(model=sys.argv[1], language='en', temperatures=(0.0,), fit_encoder_input=True)\n"
        "dictation = Dictation(Transcriber(), DictationOptions(transcribe=opts))\n"
        "clip = np.concatenate([load_audio(sys.argv[2]), np.zeros(32000, np.float32)])\n"
        "feed_audio(clip, dictation.feed, speed=math.inf)\n"
        "print(dictation.result(120).text)\n"
    )
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, str(script), str(tiny_en), str(shared_audio / CLIP)],
            capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "undermine the authority" in done.stdout
