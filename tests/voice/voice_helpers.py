"""Helpers for the voice tests: decoding clips, writing WAVs, a virtual microphone."""

from __future__ import annotations

import os
import subprocess
import wave
from pathlib import Path

import av
import numpy as np
from scipy.signal import correlate


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


def write_wav(path: Path, audio: np.ndarray, rate: int = 16_000) -> Path:
    """Writes float samples as a 16-bit mono WAV (for paplay)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def align(recorded: np.ndarray, clip: np.ndarray) -> tuple[int, float]:
    """Where ``clip`` starts in ``recorded`` and the normalised correlation there."""
    c = correlate(recorded, clip, mode="full", method="fft")
    lag = int(np.argmax(c)) - (len(clip) - 1)
    a = recorded[max(lag, 0) : lag + len(clip)]
    b = clip[max(-lag, 0) : max(-lag, 0) + len(a)]
    return lag, float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


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
