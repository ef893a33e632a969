"""Crash-safe WAV files: what a killed process leaves behind is found, repaired and readable."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from stenogram.core.paths import recordings_dir
from stenogram.core.recording_file import (
    SAMPLE_RATE,
    RecordingFileError,
    WavAppender,
    discard,
    find_unfinished_recordings,
    new_recording_path,
    read_wav,
    recover,
)


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_flushed_file_is_a_valid_wav_before_close():
    writer = WavAppender(new_recording_path())
    writer.append(_tone(1.0))
    writer.flush()
    with wave.open(str(writer.path)) as w:  # readable while recording
        assert w.getnframes() == SAMPLE_RATE
    done = writer.close()
    assert done.name.endswith(".wav") and not done.name.endswith(".partial.wav")
    assert np.abs(read_wav(done) - _tone(1.0)).max() < 1e-4


def test_abandoned_file_is_offered_and_recovered_exactly():
    writer = WavAppender(new_recording_path())
    writer.append(_tone(0.75))
    writer.flush()
    writer.append(_tone(0.25))  # written but never flushed
    assert find_unfinished_recordings() == []  # locked: still recording
    writer._file.flush()
    # What a crash leaves: a stale header, a half sample at the end, and no lock.
    with open(writer.path, "ab") as f:
        f.write(b"\x01")
    writer._file.close()
    [found] = find_unfinished_recordings()
    assert found.path == writer.path and found.duration_ms == 1000
    path = recover(found.path)
    assert find_unfinished_recordings() == [] and path.parent == recordings_dir()
    with wave.open(str(path)) as w:
        assert w.getnframes() == SAMPLE_RATE
    assert len(read_wav(path)) == SAMPLE_RATE


def test_recovering_something_else_is_refused(tmp_path):
    junk = recordings_dir() / "junk.partial.wav"
    junk.write_bytes(b"not a wav file at all, just text" * 10)
    with pytest.raises(RecordingFileError) as err:
        recover(junk)
    assert "not a Stenogram recording" in err.value.user_message
    assert junk.exists()  # left as it was
    with pytest.raises(RecordingFileError):
        recover(tmp_path / "finished.wav")
    discard(junk)
    assert not junk.exists()


def test_names_do_not_collide():
    first = WavAppender(new_recording_path("dictation"))
    second = new_recording_path("dictation")
    assert second != first.path and second.name.startswith("dictation-")
    first.close()
