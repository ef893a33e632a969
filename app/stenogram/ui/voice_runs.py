"""What the voice process runs: one dictation or live session at a time, over the core.

Each run owns a ``Recorder`` and feeds its 16 kHz chunks to ``Dictation`` or
``LiveTranscriber``; their psygnal signals become typed messages (``voice_messages``) handed
to ``send``. Only the voice child imports this module (it loads the engine, hence MLX).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from stenogram.ui.voice_messages import (
    Committed,
    DictationDone,
    Level,
    LiveDone,
    Problem,
    SpeechEnded,
    SpeechStarted,
    StartDictation,
    Started,
    StartLive,
    Tentative,
)

Send = Callable[[Any], None]

_transcriber: Any = None
_transcriber_lock = threading.Lock()


def transcriber() -> Any:
    """The process's one Transcriber: the model stays loaded between sessions."""
    global _transcriber
    with _transcriber_lock:
        if _transcriber is None:
            from stenogram.core.engine import Transcriber

            _transcriber = Transcriber()
        return _transcriber


def transcribe_options(options: dict[str, Any], **overrides: Any) -> Any:
    """TranscribeOptions from the app's dict; keys it does not know are dropped."""
    from stenogram.core.engine import TranscribeOptions

    known = {f.name for f in dataclasses.fields(TranscribeOptions)}
    kept = {k: v for k, v in options.items() if k in known}
    if "temperatures" in kept:
        kept["temperatures"] = tuple(kept["temperatures"])
    return TranscribeOptions(**{**kept, **overrides})


def _message(exc: BaseException) -> str:
    return getattr(exc, "user_message", None) or str(exc) or type(exc).__name__


class Run:
    """One session: ``start()``, ``control(action)``, finished when ``done``."""

    def __init__(self, request: StartDictation | StartLive, send: Send, kind: str) -> None:
        self.session = request.session
        self.request = request
        self.send = send
        self.recorder: Any = None
        self._kind = kind
        self._finished = threading.Event()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float) -> bool:
        return self._finished.wait(timeout)

    def start(self) -> None:
        from stenogram.core.recorder import Recorder, RecorderOptions

        self.recorder = Recorder(RecorderOptions(device=self.request.device, kind=self._kind,
                                                 directory=self.request.directory))  # fmt: skip
        self.recorder.level.connect(self._on_level)
        self.recorder.warning.connect(
            lambda err: self.send(Problem(self.session, type(err).__name__, err.user_message,
                                          fatal=False))  # fmt: skip
        )
        try:
            self.before_recording()
            path = self.recorder.start()
        except Exception as exc:  # MicrophoneError, RecordingFileError, a missing model…
            self.send(Problem(self.session, type(exc).__name__, _message(exc)))
            self._finished.set()
            return
        device = self.recorder.device.name if self.recorder.device else ""
        self.send(Started(self.session, path, device))
        self.after_recording_started(path)

    def control(self, action: str) -> None:
        if action == "stop":
            self.stop()
        elif action == "pause" and self.recorder is not None:
            self.recorder.pause()
        elif action == "resume" and self.recorder is not None:
            self.recorder.resume()

    def _on_level(self, level: Any) -> None:
        self.send(Level(self.session, level.peak_dbfs, level.rms_dbfs, self.recorder.elapsed_ms))

    # -- for subclasses --------------------------------------------------------------------
    def before_recording(self) -> None:
        pass

    def after_recording_started(self, path: Any) -> None:
        pass

    def stop(self) -> None:
        raise NotImplementedError


class DictationRun(Run):
    """Listens until a pause (VAD) or stop; sends the text, which the app puts on the clipboard."""

    def __init__(self, request: StartDictation, send: Send) -> None:
        super().__init__(request, send, "dictation")
        self.dictation: Any = None

    def after_recording_started(self, path: Any) -> None:
        from stenogram.core.dictation import Dictation, DictationOptions
        from stenogram.core.recording_file import final_path

        req: StartDictation = self.request  # type: ignore[assignment]
        options = DictationOptions(
            transcribe=transcribe_options(req.options, word_timestamps=False, fit_encoder_input=True),
            stop_on_silence=req.stop_on_silence,
            end_silence_ms=req.end_silence_ms,
            no_speech_timeout_s=req.no_speech_timeout_s,
        )
        # Load and warm the model while the user speaks, so the text is ready as speech ends.
        threading.Thread(target=self._warm, args=(options.transcribe.model,), daemon=True).start()
        self.dictation = Dictation(transcriber(), options, audio_path=final_path(path))
        self.dictation.speech_started.connect(lambda: self.send(SpeechStarted(self.session)))
        self.dictation.ended.connect(self._on_ended)
        self.recorder.add_listener(self.dictation.feed)
        self.recorder.failed.connect(self._on_device_lost)
        threading.Thread(target=self._deliver, name="dictation-result", daemon=True).start()

    @staticmethod
    def _warm(model: str) -> None:
        # A failure (a missing model) is reported by the transcription, with its sentence.
        from stenogram.core.mlx_runtime import release_thread_streams

        with contextlib.suppress(Exception):
            transcriber().warm_up(model, word_timestamps=False)
        release_thread_streams()  # this thread ends here; MLX's streams must not outlive it

    def _on_ended(self, why: str) -> None:
        self.send(SpeechEnded(self.session, why))
        # Stop recording off the recorder's own thread (this runs inside its listener).
        threading.Thread(target=self.recorder.stop, daemon=True).start()

    def _on_device_lost(self, error: Any) -> None:
        self.send(Problem(self.session, type(error).__name__, error.user_message, fatal=False))
        self.dictation.stop()

    def stop(self) -> None:
        if self.dictation is not None:
            self.dictation.stop()

    def _deliver(self) -> None:
        try:
            result = self.dictation.result()
        except Exception as exc:  # the engine's sentence (missing model, …)
            self.recorder.stop()
            self.send(Problem(self.session, type(exc).__name__, _message(exc)))
            self._finished.set()
            return
        self.recorder.stop()  # the audio file is final before the app stores it
        self.send(DictationDone(self.session, result.text, result.transcript, result.audio_path,
                                result.ended_by, result.latency_ms))  # fmt: skip
        self._finished.set()


class LiveRun(Run):
    """Committed words and the tentative tail as you speak; stop commits everything."""

    def __init__(self, request: StartLive, send: Send) -> None:
        super().__init__(request, send, "live")
        self.live: Any = None
        self._stopping = threading.Lock()

    def before_recording(self) -> None:
        from stenogram.core.live import LiveOptions, LiveTranscriber

        req: StartLive = self.request  # type: ignore[assignment]
        # Short inputs: encode only the buffer's audio (several times less work per decode).
        transcribe = transcribe_options(req.options, fit_encoder_input=True)
        options = LiveOptions(transcribe=transcribe, step_s=req.step_s)
        self.live = LiveTranscriber(transcriber(), options)
        self.live.committed.connect(lambda words: self.send(Committed(self.session, tuple(words))))
        self.live.tentative.connect(lambda words: self.send(Tentative(self.session, tuple(words))))
        self.live.failed.connect(
            lambda exc: self.send(Problem(self.session, type(exc).__name__,
                                          "Live text stopped: " + _message(exc)
                                          + " The recording goes on.", fatal=False))  # fmt: skip
        )
        self.recorder.add_listener(self.live.feed)
        self.recorder.failed.connect(self._on_device_lost)

    def after_recording_started(self, path: Any) -> None:
        self.live.start()

    def _on_device_lost(self, error: Any) -> None:
        self.send(Problem(self.session, type(error).__name__, error.user_message, fatal=False))
        threading.Thread(target=self.stop, daemon=True).start()

    def stop(self) -> None:
        if self.done or not self._stopping.acquire(blocking=False):
            return  # already stopping (the user and a lost device may both ask)
        if self.recorder is None or self.live is None:
            return
        recording = self.recorder.stop()
        try:
            transcript = self.live.finish()  # decodes the rest: the last words are kept
        except Exception as exc:
            self.send(Problem(self.session, type(exc).__name__, _message(exc), fatal=False))
            transcript = self.live.transcript()
        transcript.media_path = str(recording.path)
        transcript.duration_ms = recording.duration_ms
        self.send(LiveDone(self.session, transcript, recording.path, recording.duration_ms))
        self._finished.set()
