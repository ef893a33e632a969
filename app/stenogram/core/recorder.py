"""Recording from a microphone to disk, losing nothing when the app crashes.

Three parts, each doing one thing:
- PortAudio's callback (its own real-time thread) only copies each block into a queue;
- the writer thread downmixes, resamples to 16 kHz (libswresample through PyAV), appends to
  a crash-safe WAV (``recording_file``), flushes every 0.2 s, measures the level, and hands
  each 16 kHz chunk to listeners (dictation, live transcription);
- the caller starts, pauses, resumes and stops, and hears about the level and failures
  through psygnal signals (emitted from the writer thread; a Qt UI queues them to its thread).

A killed process loses what was in the queue and the unflushed tail: under 0.5 s.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from psygnal import Signal

from stenogram.core.audio_devices import (
    DeviceLost,
    InputDevice,
    MicrophoneError,
    _sd,
    error_from_portaudio,
    permission_denied,
    resolve_device,
)
from stenogram.core.recording_file import SAMPLE_RATE, WavAppender, new_recording_path

log = logging.getLogger(__name__)

BLOCK_MS = 50  # PortAudio block: the callback runs 20 times a second
FLUSH_INTERVAL_S = 0.2  # samples reach the OS at least this often (the SIGKILL loss bound)
STALL_TIMEOUT_S = 2.0  # no audio for this long while running: the device is gone
SILENT_START_S = 1.5  # macOS delivers exact zeros when the microphone is not allowed
LEVEL_FLOOR_DBFS = -100.0

AudioListener = Callable[[np.ndarray], None]  # receives 16 kHz mono float32 chunks


@dataclass(frozen=True)
class RecorderOptions:
    device: int | str | None = None  # index, name or None for the system default
    kind: str = "recording"  # file name prefix: "recording", "dictation", …
    directory: Path | None = None  # None: paths.recordings_dir()
    level_interval_ms: int = 100  # how often ``level`` is emitted


@dataclass(frozen=True)
class InputLevel:
    peak_dbfs: float
    rms_dbfs: float


@dataclass(frozen=True)
class RecordingResult:
    path: Path  # the finished WAV (16 kHz mono 16-bit)
    duration_ms: int
    error: MicrophoneError | None = None  # set when the device was lost; the audio is kept


def to_dbfs(value: float) -> float:
    return max(LEVEL_FLOOR_DBFS, 20.0 * math.log10(value)) if value > 0 else LEVEL_FLOOR_DBFS


class StreamResampler:
    """Streaming conversion to 16 kHz mono float32 that keeps its filter state across chunks."""

    def __init__(self, rate_in: int) -> None:
        self.rate_in = rate_in
        self._resampler = (
            None
            if rate_in == SAMPLE_RATE
            else av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        )

    def __call__(self, mono: np.ndarray) -> np.ndarray:
        if self._resampler is None:
            return mono
        frame = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
        frame.sample_rate = self.rate_in
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list[av.AudioFrame]) -> np.ndarray:
        if not frames:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([f.to_ndarray()[0] for f in frames]).astype(np.float32)


def _capture_rate(sd: Any, device: InputDevice) -> int:
    # 48 kHz where the device takes it: microphones and sound servers run at 48 kHz, so that
    # avoids a second resampling step before ours; else whatever the device prefers.
    try:
        sd.check_input_settings(device=device.index, samplerate=48_000, channels=1)
        return 48_000
    except Exception:
        return int(device.default_samplerate) or 48_000


_STOP = "stop"
_LOST = "lost"


class Recorder:
    """One recording session: ``start()``, optionally ``pause()``/``resume()``, ``stop()``."""

    level = Signal(InputLevel)  # several times a second, also while paused
    failed = Signal(MicrophoneError)  # the device was lost; the file is already finished
    warning = Signal(MicrophoneError)  # e.g. only silence arrives (macOS: no permission)

    def __init__(self, options: RecorderOptions | None = None) -> None:
        self.options = options or RecorderOptions()
        self.device: InputDevice | None = None
        self.capture_rate = 0  # Hz the device delivers, before resampling to 16 kHz
        self._queue: queue.Queue[Any] = queue.Queue()
        self._listeners: list[AudioListener] = []
        self._paused = threading.Event()
        self._stream: Any = None
        self._writer: threading.Thread | None = None
        self._file: WavAppender | None = None
        self._result: RecordingResult | None = None
        self._stopping = False
        self._lock = threading.Lock()

    # -- control --------------------------------------------------------------------------

    def add_listener(self, listener: AudioListener) -> None:
        """``listener(chunk)`` gets every recorded 16 kHz chunk, on the writer thread."""
        self._listeners.append(listener)

    def remove_listener(self, listener: AudioListener) -> None:
        self._listeners.remove(listener)

    @property
    def path(self) -> Path | None:
        """The file being written (``*.partial.wav`` until stopped)."""
        return self._file.path if self._file else None

    @property
    def elapsed_ms(self) -> int:
        """Length of what has been recorded (pauses excluded)."""
        return self._file.duration_ms if self._file else 0

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def running(self) -> bool:
        return self._writer is not None and self._writer.is_alive()

    def start(self) -> Path:
        """Opens the microphone and starts writing; returns the (partial) file's path."""
        if self._writer is not None:
            raise RuntimeError("a Recorder records once; make a new one")
        sd = _sd()
        self.device = resolve_device(self.options.device)
        rate = self.capture_rate = _capture_rate(sd, self.device)
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                samplerate=rate,
                channels=1,
                dtype="float32",
                blocksize=rate * BLOCK_MS // 1000,
                latency="low",
                callback=self._on_audio,
                finished_callback=self._on_stream_finished,
            )
        except Exception as exc:  # PortAudioError, or ValueError for unusable settings
            raise error_from_portaudio(exc, self.device.name) from exc
        self._file = WavAppender(new_recording_path(self.options.kind, self.options.directory))
        self._writer = threading.Thread(
            target=self._write_loop, args=(StreamResampler(rate),), name="recorder-writer",
            daemon=True,
        )  # fmt: skip
        self._writer.start()
        try:
            self._stream.start()
        except Exception as exc:
            self._queue.put(_STOP)
            self._writer.join()
            self._file.close()
            raise error_from_portaudio(exc, self.device.name) from exc
        return self._file.path

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def stop(self) -> RecordingResult:
        """Stops, finishes the file and returns it (also after the device was lost)."""
        if self._result is not None or self._writer is None:
            return self._require_result()
        self._stopping = True
        self._close_stream()
        self._queue.put(_STOP)
        self._writer.join()
        return self._require_result()

    def _require_result(self) -> RecordingResult:
        if self._result is None:
            raise RuntimeError("the recording was never started")
        return self._result

    # -- PortAudio's thread: copy and nothing else -----------------------------------------

    def _on_audio(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._queue.put(indata.copy())

    def _on_stream_finished(self) -> None:
        if not self._stopping:
            self._queue.put(_LOST)

    # -- the writer thread -----------------------------------------------------------------

    def _write_loop(self, resample: StreamResampler) -> None:
        assert self._file is not None
        last_flush = last_level = last_audio = time.monotonic()
        heard_anything = False
        started = last_audio
        peak, sum_sq, count = 0.0, 0.0, 0
        error: MicrophoneError | None = None
        while True:
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                item = None
            now = time.monotonic()
            if isinstance(item, str):
                if item == _LOST:
                    error = self._lost_error()
                break
            if item is None:
                if now - last_audio > STALL_TIMEOUT_S and not self._stopping:
                    error = self._lost_error()
                    break
            else:
                last_audio = now
                mono = item.mean(axis=1) if item.shape[1] > 1 else item[:, 0]
                peak = max(peak, float(np.abs(mono).max(initial=0.0)))
                sum_sq += float(np.dot(mono, mono))
                count += len(mono)
                heard_anything = heard_anything or bool(np.any(mono))
                if not self.paused:
                    self._append(resample(mono))
            if now - last_flush >= FLUSH_INTERVAL_S:
                self._flush()
                last_flush = now
            if count and now - last_level >= self.options.level_interval_ms / 1000:
                rms = math.sqrt(sum_sq / count)
                self.level.emit(InputLevel(to_dbfs(peak), to_dbfs(rms)))
                peak, sum_sq, count, last_level = 0.0, 0.0, 0, now
            if sys.platform == "darwin" and not heard_anything and now - started > SILENT_START_S:
                heard_anything = True  # warn once
                self.warning.emit(permission_denied())
        self._finish(resample, error)

    def _append(self, chunk: np.ndarray) -> None:
        assert self._file is not None
        if not len(chunk):
            return
        self._file.append(chunk)
        for listener in list(self._listeners):
            try:
                listener(chunk)
            except Exception:  # a consumer's bug must not stop the recording
                log.exception("audio listener failed")

    def _flush(self) -> None:
        assert self._file is not None
        self._file.flush()

    def _lost_error(self) -> DeviceLost:
        name = self.device.name if self.device else "microphone"
        return DeviceLost(
            f"The microphone “{name}” stopped working (unplugged or switched off?). "
            "Everything recorded until then has been kept."
        )

    def _finish(self, resample: StreamResampler, error: MicrophoneError | None) -> None:
        assert self._file is not None
        if not self.paused:
            self._append(resample.flush())
        path = self._file.close()
        self._result = RecordingResult(path, self._file.duration_ms, error)
        if error is not None:
            self._stopping = True
            self._close_stream()
            self.failed.emit(error)

    def _close_stream(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
            stream.close()
        except Exception:  # a lost device may refuse even to close; nothing left to save
            log.debug("closing the input stream failed", exc_info=True)
