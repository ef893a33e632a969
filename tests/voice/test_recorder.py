"""The recorder through the real audio path: a clip played into a PulseAudio virtual mic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly
from voice_helpers import align, write_wav

from stenogram.core.audio_devices import (
    DeviceLost,
    DeviceNotFound,
    NoInputDevice,
    list_input_devices,
    refresh_devices,
)
from stenogram.core.recorder import InputLevel, Recorder, RecorderOptions
from stenogram.core.recording_file import SAMPLE_RATE, find_unfinished_recordings, read_wav, recover

pytestmark = pytest.mark.audio
CLIP = "en_ls_6930-75918-0000.flac"  # 3.5 s, "Concord returned to its place amidst the tents"


def wait_until_live(recorder: Recorder) -> None:
    """Waits for the first audio: PulseAudio connects a new capture stream asynchronously."""
    deadline = time.monotonic() + 5
    while recorder.elapsed_ms < 300 and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def clip_wav(load_16k, tmp_path) -> tuple[np.ndarray, Path]:
    audio = load_16k(CLIP)
    # Played at the sink's 48 kHz, so PulseAudio's own (low-quality) resampler stays out.
    loud = resample_poly(audio, 3, 1).astype(np.float32)
    return audio, write_wav(tmp_path / "clip.wav", loud, 48_000)


def test_played_speech_is_recorded_faithfully(virtual_mic, clip_wav):
    clip, wav = clip_wav
    recorder = Recorder()
    levels: list[InputLevel] = []
    recorder.level.connect(levels.append)
    chunks: list[np.ndarray] = []
    recorder.add_listener(chunks.append)
    partial = recorder.start()
    assert partial.name.endswith(".partial.wav") and partial.exists()
    wait_until_live(recorder)
    virtual_mic.speak(wav).wait()
    time.sleep(0.3)
    result = recorder.stop()
    assert result.error is None
    assert result.path.suffix == ".wav" and not partial.exists()
    with wave.open(str(result.path)) as w:  # a standard WAV any player opens
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE, 1, 2)
        assert w.getnframes() * 1000 // SAMPLE_RATE == result.duration_ms
    recorded = read_wav(result.path)
    lag, corr = align(recorded, clip)
    # PulseAudio's capture path filters the sound (0.93 or 1.0, varying run to run); other
    # audio, or silence, gives well under 0.3.
    assert corr > 0.9
    assert lag >= 0 and lag + len(clip) <= len(recorded)
    # The listeners saw exactly what was written.
    assert np.abs(np.concatenate(chunks) - recorded).max() < 1e-3
    # Level: several times a second, loud during speech, near the floor before it.
    assert len(levels) >= 3 * result.duration_ms // 1000
    assert max(level.peak_dbfs for level in levels) > -20
    assert min(level.rms_dbfs for level in levels) < -60
    assert all(level.rms_dbfs <= level.peak_dbfs for level in levels)


def test_pause_drops_what_is_heard_meanwhile(virtual_mic, clip_wav):
    clip, wav = clip_wav
    recorder = Recorder()
    recorder.start()
    recorder.pause()
    assert recorder.paused
    virtual_mic.speak(wav).wait()
    time.sleep(0.3)  # the last of it is still on its way through the server
    recorder.resume()
    time.sleep(0.5)
    result = recorder.stop()
    assert result.duration_ms < 1_500  # only the part after resume
    assert np.abs(read_wav(result.path)).max() < 0.05 * np.abs(clip).max()  # none of the speech


KILLED_RECORDER = textwrap.dedent(
    """
    import sys, time
    from stenogram.core.recorder import Recorder
    recorder = Recorder()
    print(recorder.start(), flush=True)
    time.sleep(60)
    """
)


def test_sigkill_loses_at_most_half_a_second(virtual_mic, clip_wav, stenogram_home):
    clip, wav = clip_wav
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RECORDER], stdout=subprocess.PIPE, text=True,
        env={**os.environ},
    )  # fmt: skip
    partial = Path(proc.stdout.readline().strip())
    assert partial.exists()
    assert find_unfinished_recordings() == []  # still recording: not offered
    time.sleep(0.3)
    player = virtual_mic.speak(wav)
    played_at = time.monotonic()
    time.sleep(2.0)  # kill mid-sentence
    proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    proc.wait()
    player.wait()
    unfinished = find_unfinished_recordings()
    assert [u.path for u in unfinished] == [partial]
    path = recover(partial)
    assert find_unfinished_recordings() == []
    with wave.open(str(path)) as w:
        assert w.getnframes() > 0
    recorded = read_wav(path)
    lag, corr = align(recorded, clip)
    # The clip started playing at played_at (or a little later): everything the microphone
    # heard until 0.5 s before the kill must be on disk.
    heard_s = killed_at - played_at
    kept_s = (len(recorded) - lag) / SAMPLE_RATE
    assert kept_s >= heard_s - 0.5, f"kept {kept_s:.2f}s of {heard_s:.2f}s heard"
    assert corr > 0.9


def test_unplugging_gives_a_clear_error_and_keeps_the_audio(virtual_mic, clip_wav):
    clip, wav = clip_wav
    recorder = Recorder()
    lost = threading.Event()
    recorder.failed.connect(lambda error: lost.set())
    recorder.start()
    wait_until_live(recorder)
    player = virtual_mic.speak(wav)
    time.sleep(2.0)
    try:
        virtual_mic.unplug()
        assert lost.wait(timeout=10), "losing the device went unnoticed"
        player.wait()
        result = recorder.stop()
    finally:
        virtual_mic.plug_in()
    assert isinstance(result.error, DeviceLost)
    assert "kept" in result.error.user_message
    assert result.path.exists() and not result.path.name.endswith(".partial.wav")
    recorded = read_wav(result.path)
    assert len(recorded) >= 1.5 * SAMPLE_RATE
    lag, corr = align(recorded, clip[: len(recorded)])
    assert corr > 0.9


def test_devices_are_listed_and_chosen_by_name(virtual_mic):
    devices = list_input_devices()
    assert devices and any(d.is_default for d in devices)
    assert all(d.max_channels > 0 and d.default_samplerate > 0 for d in devices)
    with pytest.raises(DeviceNotFound) as err:
        Recorder(RecorderOptions(device="no such microphone")).start()
    assert "not connected" in err.value.user_message
    named = Recorder(RecorderOptions(device=devices[0].name))
    named.start()
    assert named.device is not None and named.device.name == devices[0].name
    named.stop()


def test_no_microphone_gives_a_clear_error():
    # A sound server that does not exist: PortAudio finds no input device at all.
    code = textwrap.dedent(
        """
        from stenogram.core.audio_devices import MicrophoneError
        from stenogram.core.recorder import Recorder
        try:
            Recorder().start()
        except MicrophoneError as e:
            print(type(e).__name__, "|", e.user_message)
        """
    )
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/socket"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    name, message = out.stdout.strip().split(" | ")
    assert name == NoInputDevice.__name__
    assert "No microphone" in message


def test_refresh_sees_the_same_devices(virtual_mic):
    before = [d.name for d in list_input_devices()]
    refresh_devices()
    assert [d.name for d in list_input_devices()] == before
