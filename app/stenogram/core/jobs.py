"""One transcription job from start to finish, recorded in the library.

The CLI and the app both run jobs through ``run_job`` so that a job is queued, running, done,
failed or cancelled in the library the same way whoever started it, and so that a failure is
always a sentence a person can act on, never a traceback that stops the next job.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from stenogram.core.engine import (
    EngineError,
    ProgressCallback,
    TranscribeOptions,
    Transcriber,
    TranscriptionCancelled,
)
from stenogram.core.library import Library
from stenogram.core.media_errors import MediaError
from stenogram.core.media_hash import media_fingerprint
from stenogram.core.model_errors import ModelError
from stenogram.core.transcript import Transcript


@dataclass(frozen=True)
class JobOutcome:
    """What became of one job. Exactly one of ``transcript`` and ``error`` is set unless cancelled."""

    media_path: Path
    status: str  # "done", "failed" or "cancelled"
    transcript: Transcript | None = None
    error: str | None = None  # a sentence for the user
    job_id: int | None = None
    transcript_id: int | None = None
    seconds: float = 0.0


def describe_error(error: BaseException, media_path: Path) -> str:
    """A one-sentence explanation of why a job failed."""
    message = getattr(error, "user_message", None)
    if message:
        return str(message)
    if isinstance(error, ModelError):
        return str(error)
    if isinstance(error, MemoryError):
        return f"Not enough memory to transcribe {media_path.name}; try a smaller model."
    if isinstance(error, OSError):
        return f"Could not read {media_path.name}: {error.strerror or error}."
    return f"Transcribing {media_path.name} failed unexpectedly: {error!r}."


def run_job(
    transcriber: Transcriber,
    media_path: str | Path,
    options: TranscribeOptions,
    *,
    library: Library | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> JobOutcome:
    """Transcribe one file; never raises for a bad file, a bad model or a cancel."""
    media_path = Path(media_path)
    started = time.monotonic()
    job_id = _queue(library, media_path, options)
    try:
        _mark(library, job_id, status="running")
        transcript = transcriber.transcribe(media_path, options, on_progress=on_progress, cancel=cancel)
    except TranscriptionCancelled:
        _mark(library, job_id, status="cancelled")
        return JobOutcome(media_path, "cancelled", job_id=job_id, seconds=time.monotonic() - started)
    except (EngineError, MediaError, ModelError, OSError, MemoryError, ValueError) as error:
        message = describe_error(error, media_path)
        _mark(library, job_id, status="failed", error=message)
        return JobOutcome(media_path, "failed", error=message, job_id=job_id, seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    transcript_id = None
    if library is not None:
        transcript_id = library.add_transcript(transcript, title=media_path.stem, media_hash=_hash(media_path))
        library.update_job(
            job_id,
            status="done",
            transcript_id=transcript_id,
            processing_ms=round(seconds * 1000),
            media_duration_ms=transcript.duration_ms,
        )
    return JobOutcome(media_path, "done", transcript, None, job_id, transcript_id, seconds)


def _queue(library: Library | None, media_path: Path, options: TranscribeOptions) -> int | None:
    if library is None:
        return None
    return library.add_job(media_path, model=options.model, options=options.to_dict())


def _mark(library: Library | None, job_id: int | None, **fields) -> None:
    if library is not None and job_id is not None:
        library.update_job(job_id, **fields)


def _hash(media_path: Path) -> str | None:
    try:
        return media_fingerprint(media_path)
    except OSError:
        return None
