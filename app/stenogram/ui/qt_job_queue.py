"""The job queue panel: one row per job with progress, time left, cancel, retry and open."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from stenogram.ui.jobs import Job, JobList, JobStatus

STATUS_TEXT = {
    JobStatus.QUEUED: "Waiting…",
    JobStatus.RUNNING: "Transcribing…",
    JobStatus.DONE: "Done",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}


def format_remaining(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {max(seconds, 1)} s left"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"about {minutes} min {sec:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min left"


class QtJobRow(QFrame):
    """The widgets of one job; `show_job` refreshes them from a Job value."""

    def __init__(self, job: Job, queue: QtJobQueue) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.job = job
        self.title = QLabel(job.name)
        self.title.setToolTip(str(job.path))
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName(f"Progress of {job.name}")
        self.cancel_button = self._button("Cancel", lambda: queue.cancel_requested.emit(self.job.id))
        self.retry_button = self._button("Retry", lambda: queue.retry_requested.emit(self.job.id))
        self.open_button = self._button("Open", lambda: queue.open_requested.emit(self.job))
        self.remove_button = self._button("✕", lambda: queue.remove_requested.emit(self.job.id))
        self.remove_button.setAccessibleName(f"Remove {job.name} from the list")
        self.remove_button.setFlat(True)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.remove_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for b in (self.cancel_button, self.retry_button, self.open_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addLayout(buttons)
        self.show_job(job)

    def _button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(f"{text} {self.job.name}")
        button.clicked.connect(slot)
        return button

    def show_job(self, job: Job) -> None:
        self.job = job
        status = STATUS_TEXT[job.status]
        if job.status is JobStatus.RUNNING:
            left = format_remaining(job.remaining_s())
            status = f"Transcribing… {job.progress:.0%}" + (f" · {left}" if left else "")
        elif job.status is JobStatus.FAILED:
            status = f"Failed: {job.error}"
        elif job.status is JobStatus.DONE:
            status = f"Done in {job.elapsed_s():.0f} s"
        self.status.setText(status)
        self.status.setStyleSheet("color: palette(highlight);" if job.status is JobStatus.FAILED else "")
        self.bar.setValue(int(job.progress * 1000))
        self.bar.setVisible(job.status in (JobStatus.QUEUED, JobStatus.RUNNING))
        self.cancel_button.setVisible(not job.status.finished)
        self.retry_button.setVisible(job.status in (JobStatus.FAILED, JobStatus.CANCELLED))
        self.open_button.setVisible(job.status is JobStatus.DONE)
        self.remove_button.setVisible(job.status.finished)


class QtJobQueue(QScrollArea):
    """Shows a JobList; the window connects the request signals to its QtJobRunner."""

    open_requested = Signal(object)  # Job
    cancel_requested = Signal(int)
    retry_requested = Signal(int)
    remove_requested = Signal(int)

    def __init__(self, jobs: JobList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Transcription queue")
        self.setWidgetResizable(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        inner = QWidget()
        self._layout = QVBoxLayout(inner)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._empty = QLabel("Drop audio or video files here, or choose File › Open.")
        self._empty.setWordWrap(True)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setStyleSheet("color: palette(mid);")
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self.rows: dict[int, QtJobRow] = {}
        self._jobs = jobs
        jobs.added.connect(self._on_added)
        jobs.changed.connect(self._on_changed)
        jobs.removed.connect(self._on_removed)
        for job in jobs:
            self._on_added(job)

    def _on_added(self, job: Job) -> None:
        row = QtJobRow(job, self)
        self.rows[job.id] = row
        self._layout.insertWidget(self._layout.count() - 1, row)
        self._empty.hide()

    def _on_changed(self, job: Job) -> None:
        row = self.rows.get(job.id)
        if row is not None:
            row.show_job(job)

    def _on_removed(self, job: Job) -> None:
        row = self.rows.pop(job.id, None)
        if row is not None:
            row.setParent(None)
            row.deleteLater()
        self._empty.setVisible(not self.rows)

    def disconnect_model(self) -> None:
        self._jobs.added.disconnect(self._on_added)
        self._jobs.changed.disconnect(self._on_changed)
        self._jobs.removed.disconnect(self._on_removed)
