"""The transcription queue as a plain model: jobs and their states, with psygnal signals.

Qt-free so the rules (what retry means, how time remaining is estimated) are testable without
widgets; `QtJobQueue` subscribes to `JobList.changed` and `QtJobRunner` drives the states.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from psygnal import Signal

MIN_PROGRESS_FOR_ETA = 0.03  # below this the estimate is noise: show none


class JobStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


_ids = itertools.count(1)


@dataclass(frozen=True)
class Job:
    path: Path
    options: Any  # the engine's TranscribeOptions this job runs with
    id: int = field(default_factory=lambda: next(_ids))
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0  # fraction of the audio done, 0..1
    error: str = ""  # a sentence for people when status is FAILED
    transcript: Any = None  # the Transcript when DONE
    transcript_id: Any = None  # its id in the library, when it was saved there
    started_at: float | None = None  # time.monotonic()
    finished_at: float | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def elapsed_s(self, now: float | None = None) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else (now or time.monotonic())
        return max(0.0, end - self.started_at)

    def remaining_s(self, now: float | None = None) -> float | None:
        """Time left, extrapolated from the pace so far; None when unknown."""
        if self.status is not JobStatus.RUNNING or self.progress < MIN_PROGRESS_FOR_ETA:
            return None
        elapsed = self.elapsed_s(now)
        return elapsed * (1.0 - self.progress) / self.progress


class JobList:
    """Ordered jobs; every change replaces a Job and emits `changed(job)`."""

    added = Signal(object)  # Job
    changed = Signal(object)  # Job (the new value)
    removed = Signal(object)  # Job

    def __init__(self) -> None:
        self._jobs: dict[int, Job] = {}

    def __iter__(self):
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: int) -> Job:
        return self._jobs[job_id]

    def add(self, path: Path, options: Any) -> Job:
        job = Job(Path(path), options)
        self._jobs[job.id] = job
        self.added.emit(job)
        return job

    def update(self, job_id: int, **changes: Any) -> Job:
        job = replace(self._jobs[job_id], **changes)
        self._jobs[job_id] = job
        self.changed.emit(job)
        return job

    def start(self, job_id: int) -> Job:
        return self.update(job_id, status=JobStatus.RUNNING, progress=0.0, error="",
                           started_at=time.monotonic(), finished_at=None)

    def finish(self, job_id: int, status: JobStatus, **changes: Any) -> Job:
        return self.update(job_id, status=status, finished_at=time.monotonic(), **changes)

    def requeue(self, job_id: int) -> Job:
        """Retry: the same file and options go back in the queue."""
        return self.update(job_id, status=JobStatus.QUEUED, progress=0.0, error="",
                           transcript=None, started_at=None, finished_at=None)

    def remove(self, job_id: int) -> None:
        job = self._jobs.pop(job_id)
        self.removed.emit(job)

    def pending(self) -> list[Job]:
        return [j for j in self._jobs.values() if not j.status.finished]
