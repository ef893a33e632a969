"""Runs the queue's jobs on the worker's engine lane, one at a time, and saves the results.

The engine itself lives in `EngineProcess` (a warm child process, started on the first job);
the worker thread only waits for it. Options travel as a plain dict, so this process never
imports the engine or MLX.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from stenogram.ui.jobs import Job, JobList, JobStatus
from stenogram.ui.qt_worker import QtTask, QtWorker


def user_message(exc: BaseException) -> str:
    """The sentence to show for a failure: the core's `.user_message`, else the error text."""
    message = getattr(exc, "user_message", None) or str(exc)
    return message or f"{type(exc).__name__} (no details)"


def _default_transcriber() -> Any:
    from stenogram.ui.engine_process import EngineProcess

    return EngineProcess()


def _save_to_library(transcript: Any) -> Any:
    """Store the transcript in the library when the library module is there; its id or None."""
    try:
        from stenogram.ui.library_access import save_transcript
    except ImportError:
        return None
    return save_transcript(transcript)


class QtJobRunner(QObject):
    """Feeds jobs from a JobList to the worker one at a time; emits `job_finished(Job)`."""

    job_finished = Signal(object)

    def __init__(
        self,
        jobs: JobList,
        worker: QtWorker,
        transcriber_factory: Callable[[], Any] = _default_transcriber,
        save: Callable[[Any], Any] = _save_to_library,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self._worker = worker
        self._factory = transcriber_factory
        self._save = save
        self._transcriber: Any = None
        self._owns_engine = transcriber_factory is _default_transcriber
        self._lock = threading.Lock()
        self._tasks: dict[int, QtTask] = {}

    # -- what the window calls --------------------------------------------------------------
    def add(self, paths: list[Path], options: dict[str, Any]) -> list[Job]:
        return [self._submit(self.jobs.add(Path(p), dict(options))) for p in paths]

    def cancel(self, job_id: int) -> None:
        task = self._tasks.get(job_id)
        if task is not None:
            task.cancel()
        job = self.jobs.get(job_id)
        if job.status is JobStatus.QUEUED:  # never started: it will be skipped by the worker
            self.jobs.finish(job_id, JobStatus.CANCELLED)

    def retry(self, job_id: int) -> Job:
        return self._submit(self.jobs.requeue(job_id))

    def cancel_all(self) -> None:
        for job in self.jobs.pending():
            self.cancel(job.id)

    def close(self) -> None:
        """Stop the engine (call after the worker has stopped)."""
        engine, self._transcriber = self._transcriber, None
        if engine is not None and self._owns_engine and hasattr(engine, "close"):
            engine.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _submit(self, job: Job) -> Job:
        task = QtTask(self._task_fn(job.path, job.options), name=job.name)
        self._tasks[job.id] = task
        jid = job.id
        task.started.connect(lambda: self._on_started(jid, task))
        task.progress.connect(lambda f: self._on_progress(jid, task, f))
        task.succeeded.connect(lambda result: self._on_done(jid, task, result))
        task.failed.connect(lambda exc: self._on_failed(jid, task, exc))
        task.cancelled.connect(lambda: self._on_cancelled(jid, task))
        task.finished.connect(lambda: self._forget(jid, task))
        self._worker.submit(task)
        return job

    def _task_fn(self, path: Path, options: dict[str, Any]):
        def run(progress: Callable[[float], None], cancel: threading.Event) -> tuple[Any, Any]:
            transcript = self._warm_transcriber().transcribe(
                path, options, on_progress=progress, cancel=cancel
            )
            if cancel.is_set():
                return transcript, None
            return transcript, self._save(transcript)

        return run

    def _warm_transcriber(self) -> Any:
        with self._lock:  # only the worker calls this, but be safe against a second worker
            if self._transcriber is None:
                self._transcriber = self._factory()
            return self._transcriber

    def _is_current(self, job_id: int, task: QtTask) -> bool:
        """Signals of a task replaced by a retry, or of a removed job, are ignored."""
        if self._tasks.get(job_id) is not task:
            return False
        try:
            return not self.jobs.get(job_id).status.finished
        except KeyError:
            return False

    def _forget(self, job_id: int, task: QtTask) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]

    def _on_started(self, job_id: int, task: QtTask) -> None:
        if self._is_current(job_id, task):
            self.jobs.start(job_id)

    def _on_progress(self, job_id: int, task: QtTask, fraction: float) -> None:
        if self._is_current(job_id, task):
            self.jobs.update(job_id, progress=max(0.0, min(1.0, fraction)))

    def _on_done(self, job_id: int, task: QtTask, result: tuple[Any, Any]) -> None:
        if not self._is_current(job_id, task):
            return
        transcript, transcript_id = result
        job = self.jobs.finish(job_id, JobStatus.DONE, progress=1.0, transcript=transcript,
                               transcript_id=transcript_id)
        self.job_finished.emit(job)

    def _on_failed(self, job_id: int, task: QtTask, exc: BaseException) -> None:
        if self._is_current(job_id, task):
            job = self.jobs.finish(job_id, JobStatus.FAILED, error=user_message(exc))
            self.job_finished.emit(job)

    def _on_cancelled(self, job_id: int, task: QtTask) -> None:
        if self._is_current(job_id, task):
            self.job_finished.emit(self.jobs.finish(job_id, JobStatus.CANCELLED))
