"""Fixtures for the voice tests: decoded real speech, a private PulseAudio virtual mic, espeak-ng."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from voice_helpers import VirtualMic, decode_16k


@pytest.fixture(scope="session")
def load_16k(shared_audio: Path) -> Callable[[str], np.ndarray]:
    """Decodes a clip of ../shared/audio by name, once per session."""
    cache: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = decode_16k(shared_audio / name)
        return cache[name]

    return load


@pytest.fixture(scope="session")
def virtual_mic() -> Iterator[VirtualMic]:
    """A running virtual microphone; the test process records from it through PortAudio."""
    missing = [t for t in ("pulseaudio", "pactl", "paplay", "parec") if not shutil.which(t)]
    if missing:
        pytest.skip(f"PulseAudio tools not installed ({', '.join(missing)}): run `make setup`")
    runtime_dir = Path(tempfile.mkdtemp(prefix="steno-pulse-"))  # short: socket paths ≤ 107
    mic = VirtualMic(runtime_dir)
    try:
        mic.start()
    except (subprocess.SubprocessError, RuntimeError, OSError) as exc:
        shutil.rmtree(runtime_dir, ignore_errors=True)
        pytest.skip(f"could not start a private PulseAudio server: {exc}")
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_SERVER")}
    os.environ["XDG_RUNTIME_DIR"] = mic.env["XDG_RUNTIME_DIR"]
    os.environ["PULSE_SERVER"] = mic.env["PULSE_SERVER"]
    # PortAudio lists devices when it loads: (re)load it only now that the server is up.
    from stenogram.core.audio_devices import refresh_devices

    refresh_devices()
    _warm_up()
    yield mic
    mic.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(runtime_dir, ignore_errors=True)


def _warm_up() -> None:
    """A short capture first: the first stream after the server starts can miss its start."""
    import sounddevice

    sounddevice.rec(int(0.3 * 48_000), samplerate=48_000, channels=1, dtype="float32")
    sounddevice.wait()


@pytest.fixture(scope="session")
def espeak_wav(tmp_path_factory) -> Callable[[str], Path]:
    """Synthesises a sentence with espeak-ng into a WAV; skips without espeak-ng."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed: run `make setup`")
    folder = tmp_path_factory.mktemp("espeak")

    def synth(text: str) -> Path:
        path = folder / f"{abs(hash(text))}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, timeout=30)
        return path

    return synth
