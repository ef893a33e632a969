"""The one background-work helper of the app: a single worker thread that runs tasks in turn.

A task is a plain function `fn(progress, cancel) -> result` where `progress(fraction)` reports
0..1 and `cancel` is a `threading.Event` the function polls. The worker turns that into Qt
signals on a `QtTask` that lives in the GUI thread, so slots run there, queued. Widgets never
touch threads; they submit and connect.

One thread on purpose: the model is loaded once and stays warm in it, and jobs run one after
another (Whisper already uses every core).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

TaskFn = Callable[[Callable[[float], None], threading.Event], Any]
PROGRESS_INTERVAL_S = 0.05  # at most 20 progress signals a second reach the GUI thread
_STOP = object()


class TaskCancelled(Exception):
    """A task may raise this (or the engine's own cancel error) when its event was set."""


class QtTask(QObject):
    """One unit of background work; its signals arrive in the GUI thread."""

    started = Signal()
    progress = Signal(float)  # fraction 0..1
    succeeded = Signal(object)  # the function's return value
    failed = Signal(object)  # the exception; str(exc) or exc.user_message for people
    cancelled = Signal()
    finished = Signal()  # after any of the three outcomes

    def __init__(self, fn: TaskFn, name: str = "", is_cancel: Callable[[BaseException], bool] | None = None) -> None:
        super().__init__()
        self.id = next(_ids)
        self.name = name
        self.fn = fn
        self.cancel_event = threading.Event()
        self._is_cancel = is_cancel or (lambda exc: False)
        self._last_progress = 0.0
        self.done = False

    def cancel(self) -> None:
        self.cancel_event.set()

    def _report(self, fraction: float) -> None:
        # Called in the worker thread; throttle so a chatty callback can't flood the GUI.
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        self.progress.emit(float(fraction))

    def _run(self) -> None:
        if self.cancel_event.is_set():
            self._finish(self.cancelled.emit)
            return
        self.started.emit()
        try:
            result = self.fn(self._report, self.cancel_event)
        except BaseException as exc:  # noqa: BLE001 — every failure is reported, none kills the thread
            if isinstance(exc, TaskCancelled) or self._is_cancel(exc) or self.cancel_event.is_set():
                self._finish(self.cancelled.emit)
            else:
                exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
                self._finish(lambda error=exc: self.failed.emit(error))
            return
        if self.cancel_event.is_set():
            self._finish(self.cancelled.emit)
        else:
            self._finish(lambda: self.succeeded.emit(result))

    def _finish(self, emit: Callable[[], None]) -> None:
        self.done = True
        emit()
        self.finished.emit()


_ids = itertools.count(1)


ENGINE_LANE = "engine"  # transcription: one job at a time, the model stays warm in this thread
IO_LANE = "io"  # short reads (waveform peaks, library queries) that must not wait for a job


class QtWorker(QObject):
    """Runs submitted QtTasks first in, first out, one daemon thread per lane.

    Two lanes, so opening a transcript's waveform does not wait behind an hour-long job.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lanes: dict[str, _Lane] = {}
        self._closed = False
        # Strong references until `finished` reaches the GUI thread: a task dropped by its
        # caller would otherwise be collected and its queued signals silently lost.
        self._live: set[QtTask] = set()

    def submit(self, task: QtTask, lane: str = ENGINE_LANE) -> QtTask:
        """Queue the task; connect to its signals right after, in the same slot.

        The task reaches its thread on the next turn of the event loop: a queued signal goes
        only to slots connected when it is emitted, so an idle worker must not start (and
        finish) the task before the caller has connected."""
        if self._closed:
            raise RuntimeError("the worker has been shut down")
        if lane not in self._lanes:
            self._lanes[lane] = _Lane(lane)
        self._live.add(task)
        task.finished.connect(lambda: self._live.discard(task))
        target = self._lanes[lane]
        QTimer.singleShot(0, self, lambda: target.queue.put(task) if not self._closed else task.cancel())
        return task

    def run(self, fn: TaskFn, name: str = "", lane: str = ENGINE_LANE, **kw: Any) -> QtTask:
        return self.submit(QtTask(fn, name, **kw), lane)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def busy(self) -> bool:
        return any(lane.current is not None for lane in self._lanes.values())

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Cancel running and queued tasks and wait for the threads; True when all ended."""
        self._closed = True
        for lane in self._lanes.values():
            lane.stop()
        deadline = time.monotonic() + timeout_s
        for lane in self._lanes.values():
            lane.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(lane.thread.is_alive() for lane in self._lanes.values())


class _Lane:
    def __init__(self, name: str) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.current: QtTask | None = None
        self.thread = threading.Thread(target=self._loop, name=f"stenogram-{name}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        while True:
            try:
                task = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(task, QtTask):
                task.cancel()
        current = self.current
        if current is not None:
            current.cancel()
        self.queue.put(_STOP)

    def _loop(self) -> None:
        while True:
            task = self.queue.get()
            if task is _STOP:
                return
            self.current = task
            try:
                task._run()
            finally:
                self.current = None
