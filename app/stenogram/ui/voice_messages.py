"""The typed messages between the app and its voice process (dictation and live transcription).

Plain frozen dataclasses, pickled over a pipe: nothing is parsed from text. Every message
names the session it belongs to, so a window ignores what another window started.
Qt-free and MLX-free: both processes import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# -- app → voice process ------------------------------------------------------------------------


@dataclass(frozen=True)
class StartDictation:
    session: int
    options: dict[str, Any]  # TranscribeOptions keyword arguments
    device: int | str | None = None
    directory: Path | None = None  # where the recording goes; None: recordings_dir()
    stop_on_silence: bool = True
    end_silence_ms: int = 700
    no_speech_timeout_s: float = 8.0


@dataclass(frozen=True)
class StartLive:
    session: int
    options: dict[str, Any]
    device: int | str | None = None
    directory: Path | None = None
    step_s: float = 0.5  # as LiveOptions: re-decode twice a second (or back to back)


@dataclass(frozen=True)
class Control:
    session: int
    action: str  # "stop", "pause" or "resume"


@dataclass(frozen=True)
class WarmUp:
    """Load the model now, so the first dictation does not wait for it."""

    model: str


@dataclass(frozen=True)
class Quit:
    pass


# -- voice process → app ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The answer to WarmUp: the model is loaded and compiled, or why it could not be."""

    model: str
    user_message: str | None = None  # None: ready


@dataclass(frozen=True)
class Started:
    session: int
    path: Path  # the recording being written (``*.partial.wav``)
    device_name: str


@dataclass(frozen=True)
class Level:
    session: int
    peak_dbfs: float
    rms_dbfs: float
    elapsed_ms: int  # recorded so far, pauses excluded


@dataclass(frozen=True)
class SpeechStarted:
    session: int


@dataclass(frozen=True)
class SpeechEnded:
    session: int
    why: str  # "silence", "stop" or "timeout": transcription starts now


@dataclass(frozen=True)
class Committed:
    session: int
    words: tuple[Any, ...]  # core.transcript.Word, newly committed, never taken back


@dataclass(frozen=True)
class Tentative:
    session: int
    words: tuple[Any, ...]  # the current uncommitted tail; replaces the previous one


@dataclass(frozen=True)
class DictationDone:
    session: int
    text: str  # "" when no speech was heard
    transcript: Any  # core.transcript.Transcript, media_path = the audio
    audio_path: Path | None
    ended_by: str
    latency_ms: int


@dataclass(frozen=True)
class LiveDone:
    session: int
    transcript: Any  # every committed word; media_path = the recording
    audio_path: Path
    duration_ms: int


@dataclass(frozen=True)
class Problem:
    """Something went wrong; ``user_message`` is the sentence to show.

    ``fatal``: the session is over (nothing else will come for it). Otherwise the recording
    goes on or has already been kept, and a Done message still follows.
    """

    session: int
    kind: str  # the exception's class name, or "crash"
    user_message: str
    fatal: bool = True
    details: dict[str, Any] = field(default_factory=dict)
