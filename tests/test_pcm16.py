"""Long recordings keep their speech as 16-bit PCM: half the memory, the same features."""

from __future__ import annotations

import numpy as np

from stenogram.core import speech_input
from stenogram.core.engine import TranscribeOptions
from stenogram.core.log_mel import LazyLogMel, compute_log_mel
from stenogram.core.media import load_audio
from stenogram.core.pcm16 import to_float32, to_pcm16


def test_samples_on_the_16_bit_grid_come_back_exactly():
    steps = np.array([-32768, -32767, -1, 0, 1, 12345, 32767], dtype=np.int16)
    as_float = steps.astype(np.float32) / 32768
    assert np.array_equal(to_pcm16(as_float), steps)
    assert np.array_equal(to_float32(steps), as_float)


def test_other_floats_round_to_the_nearest_step_and_clip():
    pcm = to_pcm16(np.array([0.6 / 32768, -1.4 / 32768, 1.0, 2.0, -3.0], dtype=np.float32))
    assert pcm.tolist() == [1, -1, 32767, 32767, -32768]


def test_features_of_int16_speech_equal_those_of_its_floats(shared_audio):
    audio = load_audio(shared_audio / "en_long_librispeech.flac")  # 16-bit FLAC
    pcm = to_pcm16(audio)
    assert pcm.dtype == np.int16 and np.array_equal(to_float32(pcm), audio)
    lazy_pcm, lazy_float = LazyLogMel(pcm), LazyLogMel(audio)
    for start in (0, 2999, 4000):  # the reflected start, inside, and the padded end
        assert np.array_equal(lazy_pcm.window(start), lazy_float.window(start))
    assert np.array_equal(compute_log_mel(pcm).frames, compute_log_mel(audio).frames)
    assert np.array_equal(compute_log_mel(pcm).window(4000), lazy_float.window(4000))


def test_a_streamed_recording_holds_the_same_speech_as_int16(shared_audio, monkeypatch):
    path = shared_audio / "en_long_librispeech.flac"
    whole = speech_input.prepare_speech(path, vad=True)
    monkeypatch.setattr(speech_input, "STREAM_AFTER_MS", 0)  # stream even this 70 s clip
    streamed = speech_input.prepare_speech(path, vad=True)
    assert whole.speech.dtype == np.float32 and streamed.speech.dtype == np.int16
    assert streamed.speech_map == whole.speech_map
    assert np.array_equal(to_float32(streamed.speech), whole.speech)


def test_rounding_24_bit_audio_to_16_bits_keeps_the_words(transcriber, tiny_en, shared_audio):
    audio = load_audio(shared_audio / "jfk.flac")  # 44.1 kHz 24-bit: not on the 16-bit grid
    rounded = to_float32(to_pcm16(audio))
    assert not np.array_equal(rounded, audio)
    options = TranscribeOptions(model=str(tiny_en))
    before = transcriber.transcribe(audio, options)
    after = transcriber.transcribe(rounded, options)
    assert [s.text for s in after.segments] == [s.text for s in before.segments]
    assert "country" in " ".join(s.text for s in after.segments).lower()
