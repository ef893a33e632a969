"""Fixtures for the voice tests: decoded real speech, and (in voice_fixtures) a virtual mic."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest


def decode_16k(path: Path) -> np.ndarray:
    """A media file as 16 kHz mono float32, resampled by PyAV (libswresample)."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
        parts = [
            out.to_ndarray()[0]
            for frame in container.decode(audio=0)
            for out in resampler.resample(frame)
        ]
        parts += [out.to_ndarray()[0] for out in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture(scope="session")
def load_16k(shared_audio: Path) -> Callable[[str], np.ndarray]:
    """Decodes a clip of ../shared/audio by name, once per session."""
    cache: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = decode_16k(shared_audio / name)
        return cache[name]

    return load


# ---------------------------------------------------------------------------------------------
# A private PulseAudio server with a virtual microphone: what the null sink plays, vmic hears.

SINK = "vsink"
SOURCE = "vmic"


class VirtualMic:
    """Owns the server; ``speak()`` plays a file into the microphone."""

    def __init__(self, runtime_dir: Path) -> None:
        self.runtime_dir = runtime_dir
        self.socket = runtime_dir / "pulse" / "native"
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(runtime_dir),
            "PULSE_SERVER": f"unix:{self.socket}",
            # Its own HOME, so no cookie or config is shared with other runs on this machine.
            "HOME": str(runtime_dir),
            "XDG_CONFIG_HOME": str(runtime_dir / "config"),
        }
        self._keepalive: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        (self.runtime_dir / "pulse").mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "pulseaudio", "--daemonize=yes", "--system=false", "--exit-idle-time=-1", "-n",
                "--disallow-exit=yes", "--use-pid-file=yes", "--log-target=stderr",
                f"--load=module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
            ],
            env=self.env, check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        self.plug_in()
        self._pactl("set-default-sink", SINK)

    def plug_in(self) -> None:
        """Loads the sink and the microphone (again, after ``unplug()``)."""
        self._pactl("load-module", "module-null-sink", f"sink_name={SINK}", "rate=48000",
                    "channels=1")  # fmt: skip
        self._pactl("load-module", "module-virtual-source", f"source_name={SOURCE}",
                    f"master={SINK}.monitor")  # fmt: skip
        self._pactl("set-default-source", SOURCE)
        # A reader on the monitor keeps it running, so vmic hears from the first sample.
        self._keepalive = subprocess.Popen(
            ["parec", "--latency-msec=20", f"--device={SINK}.monitor"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def unplug(self) -> None:
        """Removes the microphone and its sink, as pulling a USB mic out does."""
        for line in self._pactl("list", "short", "modules").splitlines():
            fields = line.split("\t")
            if fields[1] in ("module-virtual-source", "module-null-sink"):
                subprocess.run(["pactl", "unload-module", fields[0]], env=self.env,
                               capture_output=True, timeout=10)  # fmt: skip
        self._stop_keepalive()

    def speak(self, wav: Path) -> subprocess.Popen[bytes]:
        """Starts playing ``wav`` into the microphone; wait() on the result to finish."""
        return subprocess.Popen(["paplay", f"--device={SINK}", str(wav)], env=self.env)

    def stop(self) -> None:
        self._stop_keepalive()
        subprocess.run(["pulseaudio", "--kill"], env=self.env, capture_output=True, timeout=10)

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.terminate()
            self._keepalive.wait(timeout=5)
            self._keepalive = None

    def _pactl(self, *args: str) -> str:
        done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True,
                              timeout=10)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout


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


def write_wav(path: Path, audio: np.ndarray, rate: int = 16_000) -> Path:
    """Writes float samples as a 16-bit mono WAV (for paplay)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


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
