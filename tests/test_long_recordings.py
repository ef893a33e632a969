"""Long recordings: memory follows the speech, not the file's length; times stay right."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mediagen import write_audio
from stenogram.core.engine import TranscribeOptions
from stenogram.core.media import load_audio
from stenogram.core.speech_input import STREAM_AFTER_MS

MINUTES = 12
# Three readers at three moments: (file, a word of it, when it starts in seconds)
SPEECH = (
    ("jfk.flac", "country", 30),
    ("en_ls_2830-3980-0000.flac", "paul", 300),
    ("en_ls_6930-75918-0000.flac", "tents", 660),
)


@pytest.fixture(scope="module")
def long_recording(shared_audio, tmp_path_factory):
    """12 minutes of quiet room noise with three sentences in it."""
    assert MINUTES * 60_000 > STREAM_AFTER_MS
    audio = (np.random.default_rng(7).standard_normal(MINUTES * 60 * 16000) * 0.002).astype(np.float32)
    for name, _, at in SPEECH:
        clip = load_audio(shared_audio / name)
        audio[at * 16000 : at * 16000 + len(clip)] += clip
    path = tmp_path_factory.mktemp("long") / "twelve_minutes.flac"
    write_audio(path, audio, 16000, "flac_s16")
    return path


MEASURE = """
import json, resource, sys
from stenogram.core.speech_input import prepare_speech
import stenogram.core.media, stenogram.core.vad
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
heard = prepare_speech(sys.argv[1], vad=True)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kb": after - before, "speech_s": len(heard.speech) / 16000,
                  "duration_ms": heard.duration_ms}))
"""


def test_reading_a_long_recording_holds_only_its_speech(long_recording):
    result = subprocess.run([sys.executable, "-c", MEASURE, str(long_recording)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    whole_recording_kb = MINUTES * 60 * 16000 * 4 // 1024  # 45 MB as float32
    assert report["duration_ms"] == pytest.approx(MINUTES * 60_000, abs=50)
    assert report["speech_s"] < 3 * 15  # three sentences of under 12 s, with their padding
    assert report["grew_kb"] < whole_recording_kb / 2, report


def test_words_in_a_long_recording_keep_their_times(transcriber, tiny_en, long_recording):
    transcript = transcriber.transcribe(long_recording, TranscribeOptions(model=str(tiny_en), word_timestamps=True))
    spoken = [(s.start_ms, s.end_ms, s.text.lower()) for s in transcript.segments]
    for _, word, at in SPEECH:  # each sentence is found where it was said …
        assert any(word in text and at * 1000 - 500 <= start < end <= at * 1000 + 12_000 for start, end, text in spoken), spoken
    for start, _, _ in spoken:  # … and nothing is found anywhere else
        assert any(at * 1000 - 500 <= start <= at * 1000 + 12_000 for _, _, at in SPEECH), spoken
