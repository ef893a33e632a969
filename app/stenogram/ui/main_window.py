"""The main window: pickers, the job queue and the library on the left, editors on the right.

It composes the parts and routes: files in (drop, Open, Dock) → jobs → editors. The work runs
in `QtJobRunner` on the app's one `QtWorker`; editing lives in `QtEditor`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QUndoGroup
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from stenogram import __version__
from stenogram.ui import settings as S
from stenogram.ui.jobs import Job, JobList, JobStatus
from stenogram.ui.opening import sort_paths
from stenogram.ui.qt_job_queue import QtJobQueue
from stenogram.ui.qt_job_runner import QtJobRunner
from stenogram.ui.qt_pickers import QtPickers
from stenogram.ui.qt_worker import IO_LANE, QtWorker
from stenogram.ui.settings import Settings

STATUS_MS = 6000  # how long a status-bar message stays


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, worker: QtWorker | None = None,
                 transcriber_factory: Any = None, voice: Any = None) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("Stenogram")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.worker = worker or QtWorker(self)
        self.jobs = JobList()
        kw = {"transcriber_factory": transcriber_factory} if transcriber_factory else {}
        self.runner = QtJobRunner(self.jobs, self.worker, parent=self, **kw)
        self.runner.job_finished.connect(self._on_job_finished)
        self.undo_group = QUndoGroup(self)
        self.refusals: list[str] = []  # reasons files were refused, newest last
        self.notifications: list[str] = []  # system notifications sent, newest last
        self._tray = None
        self._record_panel = None
        self._build()
        from stenogram.ui.qt_voice_windows import QtVoiceWindows

        self.voice_windows = QtVoiceWindows(self, voice)  # dictation, live view, recovery
        from stenogram.ui.qt_actions import build_menus

        self.actions_ = build_menus(self)
        self._on_tab_changed()
        QTimer.singleShot(0, self._after_shown)  # slow look-ups wait until the window is up

    def _build(self) -> None:
        self.pickers = QtPickers(self.settings)
        self.queue = QtJobQueue(self.jobs)
        self.queue.open_requested.connect(self.open_job)
        self.queue.cancel_requested.connect(self.runner.cancel)
        self.queue.retry_requested.connect(self.runner.retry)
        self.queue.remove_requested.connect(self.jobs.remove)
        from stenogram.ui.qt_library import QtLibraryPanel

        self.library = QtLibraryPanel(self.worker)
        self.library.open_requested.connect(self.open_from_library)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.pickers)
        left_splitter = QSplitter(Qt.Orientation.Vertical)
        left_splitter.addWidget(self.queue)
        left_splitter.addWidget(self.library)
        left_splitter.setSizes([360, 400])
        left_layout.addWidget(left_splitter, 1)
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Open transcripts")
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.placeholder = QLabel("Drop audio or video files anywhere on this window to transcribe them.\n"
                                  "Finished transcripts open here for editing.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: palette(mid); font-size: 15px;")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.placeholder)
        right_layout.addWidget(self.tabs)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([320, 960])
        self.setCentralWidget(splitter)

    def _after_shown(self) -> None:
        from stenogram.ui.opening import installed_model_names

        task = self.worker.run(lambda _p, _c: installed_model_names(), "models", lane=IO_LANE)
        task.succeeded.connect(self.pickers.set_models)
        self.library.refresh()
        self.voice_windows.offer_recoveries()

    # -- opening files -------------------------------------------------------------------
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open Media or Transcripts")
        if paths:
            self.open_paths([Path(p) for p in paths])

    def open_paths(self, paths: list[Path]) -> list[Job]:
        """Media become jobs; transcripts open in the editor; anything else is refused."""
        media, documents, refused = sort_paths([Path(p) for p in paths])
        for doc in documents:
            self._open_document(doc)
        if refused:
            self.refusals.extend(refused)
            self._status("\n".join(refused), error=True)
        return self.runner.add(media, self.pickers.options()) if media else []

    def _open_document(self, path: Path) -> None:
        from stenogram.ui.opening import read_document

        try:
            transcript = read_document(path)
        except Exception as exc:  # noqa: BLE001 — the reader's typed errors carry the sentence
            reason = getattr(exc, "user_message", None) or str(exc)
            self.refusals.append(reason)
            self._status(reason, error=True)
            return
        self.open_transcript(transcript)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.open_paths(paths)

    # -- jobs ----------------------------------------------------------------------------
    def _on_job_finished(self, job: Job) -> None:
        if job.status is JobStatus.FAILED:
            self._status(f"{job.name}: {job.error}", error=True)
        elif job.status is JobStatus.DONE:
            self._status(f"{job.name} is transcribed. Click Open to edit it.")
            self.library.refresh()
        long_job = job.elapsed_s() >= self.settings.get(S.NOTIFY_AFTER_S)
        if long_job and not self.isActiveWindow() and job.status in (JobStatus.DONE, JobStatus.FAILED):
            self._notify(job)

    def _notify(self, job: Job) -> None:
        from PySide6.QtWidgets import QSystemTrayIcon

        text = "Transcribed" if job.status is JobStatus.DONE else f"Failed: {job.error}"
        self.notifications.append(f"{job.name}: {text}")
        if not QSystemTrayIcon.isSystemTrayAvailable():
            QGuiApplication.instance().alert(self)  # bounces the Dock icon / flashes the taskbar
            return
        if self._tray is None:
            self._tray = QSystemTrayIcon(self.windowIcon(), self)
            self._tray.show()
        self._tray.showMessage(f"Stenogram: {job.name}", text)

    def open_job(self, job: Job) -> None:
        if job.transcript is None:
            return
        for i in range(self.tabs.count()):  # already open: one editor per transcript
            if self.tabs.widget(i).transcript is job.transcript:
                self.tabs.setCurrentIndex(i)
                return
        self.open_transcript(job.transcript, job.transcript_id)

    def open_from_library(self, transcript_id: Any, at_ms: int | None) -> None:
        for i in range(self.tabs.count()):
            editor = self.tabs.widget(i)
            if editor.transcript_id is not None and editor.transcript_id == transcript_id:
                self.tabs.setCurrentIndex(i)
                if at_ms is not None:
                    editor.show_moment(at_ms)
                return
        from stenogram.ui.library_access import load_transcript

        try:
            transcript = load_transcript(transcript_id)
        except Exception as exc:  # noqa: BLE001 — show the library's sentence, keep going
            self._status(getattr(exc, "user_message", None) or str(exc), error=True)
            return
        editor = self.open_transcript(transcript, transcript_id)
        if at_ms is not None:
            editor.show_moment(at_ms)

    # -- editors -------------------------------------------------------------------------
    def open_transcript(self, transcript, transcript_id: Any = None):
        from stenogram.ui.qt_autosave import QtAutosave
        from stenogram.ui.qt_editor import QtEditor

        editor = QtEditor(transcript, self.worker, rules=self.subtitle_rules(), transcript_id=transcript_id)
        editor.status.connect(lambda text: self._status(text, error=True))
        editor.autosave = QtAutosave(editor.history, transcript_id, editor)
        editor.autosave.failed.connect(lambda text: self._status(text, error=True))
        self.undo_group.addStack(editor.undo.stack)
        name = Path(transcript.media_path).name if transcript.media_path else "Untitled"
        index = self.tabs.addTab(editor, name)
        self.tabs.setTabToolTip(index, transcript.media_path or "")
        self.tabs.setCurrentIndex(index)
        return editor

    def current_editor(self):
        return self.tabs.currentWidget()

    def on_editor(self, attribute: str):
        """The current editor's attribute, or a harmless stand-in when none is open."""
        editor = self.current_editor()
        if editor is None:
            return _Nothing()
        return getattr(editor, attribute)

    def _on_tab_changed(self, *_args) -> None:
        editor = self.current_editor()
        self.placeholder.setVisible(editor is None)
        self.tabs.setVisible(editor is not None)
        self.undo_group.setActiveStack(editor.undo.stack if editor is not None else None)
        actions = getattr(self, "actions_", None)
        for action in actions.editor_actions if actions is not None else []:
            action.setEnabled(editor is not None)

    def close_tab(self, index: int) -> None:
        editor = self.tabs.widget(index)
        self.tabs.removeTab(index)
        self.undo_group.removeStack(editor.undo.stack)
        if getattr(editor, "autosave", None) is not None:
            editor.autosave.close()
        editor.shutdown()
        editor.deleteLater()

    def close_current(self) -> None:
        if self.tabs.currentIndex() >= 0:
            self.close_tab(self.tabs.currentIndex())

    def save_current(self) -> None:
        editor = self.current_editor()
        if editor is None:
            return
        from stenogram.ui.library_access import save_now

        self._status(save_now(editor))

    def export_current(self) -> None:
        editor = self.current_editor()
        if editor is not None:
            from stenogram.ui.qt_export import QtExportDialog

            dialog = QtExportDialog(editor.transcript, self.settings, self)
            dialog.open()

    def copy_all_text(self) -> None:
        editor = self.current_editor()
        if editor is not None:
            QGuiApplication.clipboard().setText(editor.transcript.text)
            self._status("All text copied to the clipboard.")

    def subtitle_rules(self):
        from stenogram.ui.opening import rules_from_settings

        return rules_from_settings(self.settings)

    # -- other windows ---------------------------------------------------------------------
    def show_preferences(self) -> None:
        from stenogram.ui.qt_preferences import QtPreferences

        QtPreferences(self.settings, self).open()

    def show_models(self) -> None:
        from stenogram.ui.qt_models import QtModelsWindow

        window = QtModelsWindow(self.worker, self)
        window.models_changed.connect(lambda names: self.pickers.set_models(names))
        window.show()

    def show_record_panel(self) -> None:
        from stenogram.ui.qt_record_panel import QtRecordPanel

        if self._record_panel is None:
            self._record_panel = QtRecordPanel(self)
            self._record_panel.recorded.connect(lambda path: self.open_paths([path]))
        self._record_panel.show()
        self._record_panel.raise_()

    def show_about(self) -> None:
        QMessageBox.about(self, "About Stenogram",
                          f"<b>Stenogram</b> {__version__}<br>Speech to text and subtitles on your "
                          "own computer, with Whisper on MLX.")

    # -- status and shutdown ---------------------------------------------------------------
    def _status(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(text, STATUS_MS * (2 if error else 1))

    def shutdown(self) -> None:
        """Cancel jobs and stop the worker; safe to call twice (closeEvent and aboutToQuit)."""
        self.runner.cancel_all()
        self.voice_windows.shutdown()
        for i in range(self.tabs.count()):
            editor = self.tabs.widget(i)
            if getattr(editor, "autosave", None) is not None:
                editor.autosave.close()
            editor.shutdown()
        started = time.monotonic()
        self.worker.shutdown(timeout_s=5.0)
        self.runner.close()
        self.shutdown_s = time.monotonic() - started

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


class _Nothing:
    """Stands in for an editor part when no transcript is open: every call does nothing."""

    def __getattr__(self, _name: str) -> Any:
        return self

    def __call__(self, *_args: Any, **_kw: Any) -> Any:
        return self
