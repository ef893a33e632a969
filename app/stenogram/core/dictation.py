"""Dictation: speak, pause (or press stop), and the words land on the clipboard.

``Dictation`` takes 16 kHz chunks through ``feed()`` (from the ``Recorder`` or from
``audio_feed`` in tests and benchmarks), watches them with a streaming VAD, and ends itself
when speech is followed by ``end_silence_ms`` of quiet, or when ``stop()`` is called. It then
trims the silence at both ends, transcribes only the speech, and hands the text to a
``Clipboard`` the UI implements (the core never imports Qt). Nothing is transcribed when no
speech was heard: silence gives an empty result, never invented text.

``start_dictation()`` wires it to the microphone; its recording is kept (in recordings_dir)
as the dictation's audio, so the library can store both.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from psygnal import Signal

from stenogram.core.engine import TranscribeOptions, Transcriber
from stenogram.core.mlx_runtime import release_thread_streams
from stenogram.core.recorder import Recorder, RecorderOptions
from stenogram.core.recording_file import SAMPLE_RATE, WavAppender, new_recording_path
from stenogram.core.speculation import Speculation
from stenogram.core.transcript import Transcript
from stenogram.core.vad import VadOptions, VadStream

log = logging.getLogger(__name__)


class Clipboard(Protocol):
    """Where the text goes; the Qt UI implements it with QClipboard."""

    def set_text(self, text: str) -> None: ...


class PasteUnavailable(RuntimeError):
    """Pasting into the front app is not possible here; ``user_message`` says why."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True)
class DictationOptions:
    # Transcription: greedy (no temperature fallback) for speed; the user's model.
    transcribe: TranscribeOptions = field(
        default_factory=lambda: TranscribeOptions(
            language="en", temperatures=(0.0,), fit_encoder_input=True
        )
    )
    # Endpointing: a pause this long after speech ends the dictation (False: only stop()).
    stop_on_silence: bool = True
    end_silence_ms: int = 700
    # Start transcribing once a pause has lasted this long (past the padding), and keep the
    # text if the pause becomes the end: it is then ready as the pause is confirmed.
    speculate_after_ms: int = 100
    # Nothing said for this long after the start: give up with an empty result.
    no_speech_timeout_s: float = 8.0
    # Kept around the speech when trimming, so first and last sounds are not clipped.
    pad_ms: int = 150
    # After the text is on the clipboard, paste it into the front app (macOS only).
    paste: bool = False

    def vad_options(self) -> VadOptions:
        return VadOptions(min_silence_ms=self.end_silence_ms, speech_pad_ms=self.pad_ms)


@dataclass(frozen=True)
class DictationResult:
    text: str  # "" when no speech was heard
    transcript: Transcript  # with media_path = the audio file, ready for the library
    audio_path: Path | None  # the dictation's audio (16 kHz WAV in recordings_dir)
    speech_ms: tuple[int, int] | None  # where speech began and ended in the audio
    ended_by: str  # "silence", "stop" or "timeout"
    latency_ms: int  # from the end of the audio used (or stop) to the text being ready
    pasted: bool = False
    early: bool = False  # transcribed during the final pause, before it was confirmed


class Dictation:
    """One dictation: ``feed()`` audio until it ends, then ``result()``."""

    speech_started = Signal()
    ended = Signal(str)  # why: "silence", "stop", "timeout"; transcription starts now
    finished = Signal(DictationResult)  # emitted on the worker thread

    def __init__(
        self,
        transcriber: Transcriber,
        options: DictationOptions | None = None,
        *,
        clipboard: Clipboard | None = None,
        audio_path: Path | None = None,
    ) -> None:
        self.options = options or DictationOptions()
        self._transcriber = transcriber
        self._clipboard = clipboard
        self._audio_path = audio_path  # None: save the trimmed speech ourselves
        self._vad = VadStream(self.options.vad_options())
        self._chunks: list[np.ndarray] = []
        self._speech_start: int | None = None
        self._speech_end: int | None = None
        self._ended_by: str | None = None
        self._ended_at = 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._result: DictationResult | None = None
        self._error: BaseException | None = None
        self._speculation: Speculation | None = None
        self._worker: threading.Thread | None = None
        self._dropped: list[Speculation] = []  # cancelled; waited for before the result

    @property
    def is_ended(self) -> bool:
        return self._ended_by is not None

    def feed(self, chunk: np.ndarray) -> None:
        """Audio as it arrives (16 kHz mono float32); ignored once the dictation has ended."""
        with self._lock:
            if self._ended_by is not None:
                return
            self._chunks.append(np.asarray(chunk, dtype=np.float32))
            for event in self._vad.feed(chunk):
                if event.kind == "start":
                    if self._speech_start is None:
                        self._speech_start = event.sample
                        self.speech_started.emit()
                    self._speech_end = None
                else:
                    self._speech_end = event.sample
                    if self.options.stop_on_silence:
                        self._end("silence")
                        return
            timeout = self.options.no_speech_timeout_s * SAMPLE_RATE
            if self._speech_start is None and self._vad.samples_fed > timeout:
                self._end("timeout")
                return
            self._speculate()

    def _speculate(self) -> None:
        """Transcribe the speech so far while a pause lasts; drop that if speech goes on."""
        pause = self._vad.pause if self.options.stop_on_silence else None
        current = self._speculation
        if current is not None and (pause is None or current.key[1] != pause[0]):
            current.cancel()
            self._dropped.append(current)
            self._speculation = current = None
        wait = (self.options.pad_ms + self.options.speculate_after_ms) * SAMPLE_RATE // 1000
        if current is not None or pause is None or self._speech_start is None or pause[1] < wait:
            return
        span = (self._speech_start, pause[0])
        speech = np.concatenate(self._chunks)[span[0] : span[1]]
        self._speculation = Speculation(self._transcriber, speech, self._options(), span)

    def stop(self) -> None:
        """The user pressed stop: transcribe what was said so far."""
        with self._lock:
            if self._ended_by is None:
                pause = self._vad.pause  # stopped during a pause: the speech ended where it began
                for event in self._vad.finish():
                    if event.kind == "start" and self._speech_start is None:
                        self._speech_start = event.sample
                    elif event.kind == "end":
                        self._speech_end = pause[0] if pause else event.sample
                self._end("stop")

    def result(self, timeout: float | None = None) -> DictationResult:
        """Waits for the text (after the dictation ended); raises what transcription raised."""
        if not self._done.wait(timeout):
            raise TimeoutError("the dictation has not finished")
        if self._worker is not None:
            self._worker.join()  # MLX aborts a process that exits while its thread winds down
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    # -- after the end: on a worker thread, so feed() (the recorder's thread) never waits --

    def _end(self, why: str) -> None:
        self._ended_by = why
        self._ended_at = time.monotonic()
        self.ended.emit(why)
        self._worker = threading.Thread(target=self._finish, name="dictation", daemon=True)
        self._worker.start()

    def _finish(self) -> None:
        try:
            self._result = self._transcribe()
            self.finished.emit(self._result)
        except BaseException as exc:  # handed to result(); the UI shows its user_message
            self._error = exc
        finally:
            release_thread_streams()
            self._done.set()

    def _transcribe(self) -> DictationResult:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        span = self._speech_span(len(audio))
        speech = audio[span[0] : span[1]] if span else audio[:0]
        path = self._audio_path or _save_wav(speech)
        opts = self._options()
        early = None
        if span is None:
            transcript = Transcript(language=opts.language, model=opts.model)
        else:
            early = self._speculated(span)
            transcript = early or self._transcriber.transcribe(speech, opts)
            if self._audio_path is not None:  # times in the full recording
                transcript = _shifted(transcript, span[0] * 1000 // SAMPLE_RATE)
        self._wait_for_dropped()
        transcript.media_path = str(path) if path else None
        transcript.duration_ms = len(audio if self._audio_path else speech) * 1000 // SAMPLE_RATE
        text = transcript.text
        if text and self._clipboard is not None:
            self._clipboard.set_text(text)
        pasted = bool(text) and self.options.paste and _paste_quietly()
        return DictationResult(
            text=text,
            transcript=transcript,
            audio_path=path,
            speech_ms=(span[0] * 1000 // SAMPLE_RATE, span[1] * 1000 // SAMPLE_RATE)
            if span
            else None,
            ended_by=self._ended_by or "stop",
            latency_ms=round((time.monotonic() - self._ended_at) * 1000),
            pasted=pasted,
            early=early is not None,
        )

    def _options(self) -> TranscribeOptions:
        return replace(self.options.transcribe, vad=True)

    def _speculated(self, span: tuple[int, int]) -> Transcript | None:
        """The transcript started during the final pause, if it was of this very span."""
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return None
        if speculation.key != span:
            speculation.cancel()
            self._dropped.append(speculation)
            return None
        return speculation.result()

    def _wait_for_dropped(self) -> None:
        """No transcription of ours outlives the result (an app may quit right after it)."""
        for speculation in self._dropped:
            speculation.result()

    def _speech_span(self, total: int) -> tuple[int, int] | None:
        if self._speech_start is None:
            return None
        end = self._speech_end if self._speech_end is not None else total
        return self._speech_start, min(end, total)


def _save_wav(speech: np.ndarray) -> Path | None:
    if not len(speech):
        return None
    writer = WavAppender(new_recording_path("dictation"))
    writer.append(speech)
    return writer.close()


def _shifted(transcript: Transcript, offset_ms: int) -> Transcript:
    from dataclasses import replace as dc_replace

    transcript.segments = [
        dc_replace(
            s,
            start_ms=s.start_ms + offset_ms,
            end_ms=s.end_ms + offset_ms,
            words=tuple(
                dc_replace(w, start_ms=w.start_ms + offset_ms, end_ms=w.end_ms + offset_ms)
                for w in s.words
            ),
        )
        for s in transcript.segments
    ]
    return transcript


# -- pasting into the front app (macOS) ---------------------------------------------------------


def paste_into_front_app() -> None:
    """Sends cmd-V to the front app (the text must already be on the clipboard).

    Needs macOS and the Accessibility permission; raises PasteUnavailable elsewhere.
    """
    if sys.platform != "darwin":
        raise PasteUnavailable("Pasting into other apps is only available on macOS.")
    if not shutil.which("osascript"):
        raise PasteUnavailable("osascript was not found, so Stenogram cannot paste for you.")
    script = 'tell application "System Events" to keystroke "v" using command down'
    done = subprocess.run(["osascript", "-e", script], capture_output=True, text=True, timeout=5)
    if done.returncode != 0:
        raise PasteUnavailable(
            "macOS did not let Stenogram paste. Allow it in System Settings › Privacy & "
            "Security › Accessibility, then try again. The text is on the clipboard."
        )


def _paste_quietly() -> bool:
    try:
        paste_into_front_app()
        return True
    except (PasteUnavailable, OSError, subprocess.SubprocessError) as exc:
        log.info("not pasting: %s", getattr(exc, "user_message", exc))
        return False


# -- with the microphone -------------------------------------------------------------------------


@dataclass
class DictationSession:
    """A dictation fed by the microphone; ``stop()`` ends it early, ``result()`` waits."""

    recorder: Recorder
    dictation: Dictation

    def stop(self) -> None:
        self.dictation.stop()

    def result(self, timeout: float | None = None) -> DictationResult:
        result = self.dictation.result(timeout)
        # The text can be ready as speech ends; the audio file is final only once stopped.
        self.recorder.stop()
        return result


def start_dictation(
    transcriber: Transcriber,
    options: DictationOptions | None = None,
    *,
    clipboard: Clipboard | None = None,
    device: int | str | None = None,
) -> DictationSession:
    """Opens the microphone and dictates until a pause or ``stop()``.

    The recording (crash-safe, in recordings_dir) becomes the dictation's audio; it is closed
    as soon as the dictation ends. Raises MicrophoneError when the microphone cannot be used.
    """
    recorder = Recorder(RecorderOptions(device=device, kind="dictation"))
    path = recorder.start()
    # Load and warm the model while the user speaks, so the text is ready as speech ends.
    model = (options or DictationOptions()).transcribe.model
    threading.Thread(
        target=transcriber.warm_up, args=(model,), kwargs={"word_timestamps": False}, daemon=True
    ).start()
    from stenogram.core.recording_file import final_path

    dictation = Dictation(transcriber, options, clipboard=clipboard, audio_path=final_path(path))
    recorder.add_listener(dictation.feed)
    # Stop recording when the dictation ends, off the recorder's own thread.
    dictation.ended.connect(
        lambda _why: threading.Thread(target=recorder.stop, daemon=True).start()
    )
    recorder.failed.connect(lambda _error: dictation.stop())
    return DictationSession(recorder, dictation)
