"""Recordings on disk that survive a crash: a WAV file written as the audio arrives.

While recording, the file is named ``*.partial.wav`` and held with an advisory lock. Every
flush writes the samples and rewrites the header's sizes, so even a file left by a killed
process opens in any player; ``recover()`` makes its header exact and gives it its final name.
A clean ``close()`` does the same. The lock tells a live recording (another window or process)
from an abandoned one: the kernel drops it when the process dies, however it dies.

Samples are stored as 16-bit PCM, mono, 16 kHz: the rate Whisper needs, 115 MB per hour.
"""

from __future__ import annotations

import fcntl
import os
import struct
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from stenogram.core.paths import recordings_dir

SAMPLE_RATE = 16_000  # Hz, what recordings are stored at
SAMPLE_BYTES = 2  # 16-bit PCM
HEADER_BYTES = 44  # a canonical RIFF/WAVE header with one fmt and one data chunk
PARTIAL_SUFFIX = ".partial.wav"
FINAL_SUFFIX = ".wav"
FSYNC_EVERY_BYTES = SAMPLE_RATE * SAMPLE_BYTES * 5  # also survive power loss, to ~5 s


class RecordingFileError(OSError):
    """A recording cannot be written or recovered; ``user_message`` says what to do."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class UnfinishedRecording:
    """A recording left behind by a crash, to offer back to the user."""

    path: Path
    duration_ms: int
    modified: datetime


def _header(data_bytes: int, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    block_align = channels * SAMPLE_BYTES
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block_align,
                      block_align, 8 * SAMPLE_BYTES)
        + b"data"
        + struct.pack("<I", data_bytes)
    )  # fmt: skip


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as little-endian 16-bit PCM (clipped, rounded)."""
    scaled = np.clip(samples, -1.0, 1.0) * 32767.0
    return np.rint(scaled).astype("<i2").tobytes()


def new_recording_path(kind: str = "recording", directory: Path | None = None) -> Path:
    """A fresh ``<kind>-YYYY-MM-DD_HH-MM-SS.partial.wav`` in the recordings folder."""
    directory = directory or recordings_dir()
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for n in range(1, 1000):
        stem = f"{kind}-{stamp}" if n == 1 else f"{kind}-{stamp}-{n}"
        path = directory / f"{stem}{PARTIAL_SUFFIX}"
        if not path.exists() and not final_path(path).exists():
            return path
    raise RecordingFileError(f"Could not find a free file name for a recording in {directory}.")


def final_path(partial: Path) -> Path:
    name = partial.name
    if name.endswith(PARTIAL_SUFFIX):
        name = name[: -len(PARTIAL_SUFFIX)] + FINAL_SUFFIX
    return partial.with_name(name)


class WavAppender:
    """Appends mono 16 kHz audio to a ``*.partial.wav`` file, crash-safe after each flush."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: BinaryIO = open(path, "xb")  # noqa: SIM115 - held open while recording
        except OSError as exc:
            raise RecordingFileError(
                f"Could not create the recording file {path}: {exc.strerror or exc}. "
                "Check that the disk is not full and that the folder can be written."
            ) from exc
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._file.write(_header(0))
        self._data_bytes = 0
        self._unsynced = 0
        self._closed = False

    @property
    def frames(self) -> int:
        return self._data_bytes // SAMPLE_BYTES

    @property
    def duration_ms(self) -> int:
        return self.frames * 1000 // SAMPLE_RATE

    def append(self, samples: np.ndarray) -> None:
        data = to_pcm16(samples)
        try:
            self._file.write(data)
        except OSError as exc:
            raise RecordingFileError(
                f"Could not write the recording ({exc.strerror or exc}); the disk may be full. "
                f"Everything up to now is kept in {self.path}."
            ) from exc
        self._data_bytes += len(data)
        self._unsynced += len(data)

    def flush(self) -> None:
        """Hands the samples and a header that counts them to the OS (survives SIGKILL)."""
        self._write_sizes()
        self._file.flush()
        if self._unsynced >= FSYNC_EVERY_BYTES:
            os.fsync(self._file.fileno())
            self._unsynced = 0

    def close(self) -> Path:
        """Finishes the file and gives it its final name; returns that path."""
        if self._closed:
            return final_path(self.path)
        self._closed = True
        self._write_sizes()
        self._file.flush()
        os.fsync(self._file.fileno())
        done = final_path(self.path)
        os.replace(self.path, done)  # before unlocking, so no one recovers it meanwhile
        self._file.close()
        return done

    def _write_sizes(self) -> None:
        self._file.seek(0)
        self._file.write(_header(self._data_bytes))
        self._file.seek(0, os.SEEK_END)


def _is_locked(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except FileNotFoundError:
        return True  # finished or recovered meanwhile: not ours to offer
    return False


def _data_bytes_on_disk(path: Path) -> int:
    size = path.stat().st_size
    data = max(0, size - HEADER_BYTES)
    return data - data % SAMPLE_BYTES  # a sample cut in half by the kill is dropped


def find_unfinished_recordings(directory: Path | None = None) -> list[UnfinishedRecording]:
    """Recordings a crashed or killed process left behind (none that are still recording)."""
    directory = directory or recordings_dir()
    found = []
    for path in sorted(directory.glob(f"*{PARTIAL_SUFFIX}")):
        if _is_locked(path):
            continue
        frames = _data_bytes_on_disk(path) // SAMPLE_BYTES
        found.append(
            UnfinishedRecording(
                path=path,
                duration_ms=frames * 1000 // SAMPLE_RATE,
                modified=datetime.fromtimestamp(path.stat().st_mtime),
            )
        )
    return found


def recover(path: Path) -> Path:
    """Repairs an unfinished recording's header and renames it; returns the final path."""
    path = Path(path)
    if not path.name.endswith(PARTIAL_SUFFIX):
        raise RecordingFileError(f"{path.name} is not an unfinished recording.")
    if _is_locked(path):
        raise RecordingFileError(f"{path.name} is still being recorded.")
    try:
        with open(path, "r+b") as f:
            head = f.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise RecordingFileError(
                    f"{path.name} is not a Stenogram recording (no WAV header); it was left as is."
                )
            data_bytes = _data_bytes_on_disk(path)
            f.truncate(HEADER_BYTES + data_bytes)
            f.seek(0)
            f.write(_header(data_bytes))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        if isinstance(exc, RecordingFileError):
            raise
        raise RecordingFileError(f"Could not repair {path.name}: {exc.strerror or exc}.") from exc
    done = final_path(path)
    os.replace(path, done)
    return done


def discard(path: Path) -> None:
    """Deletes an unfinished recording the user does not want back."""
    if _is_locked(path):
        raise RecordingFileError(f"{Path(path).name} is still being recorded.")
    Path(path).unlink(missing_ok=True)


def read_wav(path: Path) -> np.ndarray:
    """A recording's samples as float32 in [-1, 1] (16 kHz mono, as this module writes them)."""
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
        if len(head) < HEADER_BYTES or head[:4] != b"RIFF" or head[36:40] != b"data":
            raise RecordingFileError(f"{Path(path).name} is not a Stenogram recording.")
        raw = f.read()
    raw = raw[: len(raw) - len(raw) % SAMPLE_BYTES]
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32767.0
