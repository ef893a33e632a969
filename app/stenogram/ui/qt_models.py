"""The models window: installed models with sizes; download, install, import, remove.

Everything is `core.models.ModelStore`; long work (downloads, conversions) runs on the worker's
own "models" lane with progress and cancel, so transcription and the window go on meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from stenogram.ui.qt_job_runner import user_message
from stenogram.ui.qt_worker import QtTask, QtWorker

MODELS_LANE = "models"


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _table(headers: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class QtModelsWindow(QDialog):
    models_changed = Signal(list)  # installed names

    def __init__(self, worker: QtWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from stenogram.core.models import ModelStore

        self.setWindowTitle("Models")
        self.store = ModelStore()
        self.worker = worker
        self.task: QtTask | None = None
        self.installed = _table(("Name", "Size", "Languages", "Weights", "Source"), "Installed models")
        self.available = _table(("Name", "Size", "Languages", "From"), "Models to get")
        self.remove_button = QPushButton("Remove")
        self.import_button = QPushButton("Import Folder…")
        self.get_button = QPushButton("Download / Install")
        self.cancel_button = QPushButton("Cancel")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName("Model download progress")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row1 = QHBoxLayout()
        row1.addStretch(1)
        row1.addWidget(self.import_button)
        row1.addWidget(self.remove_button)
        row2 = QHBoxLayout()
        row2.addWidget(self.bar, 1)
        row2.addWidget(self.cancel_button)
        row2.addWidget(self.get_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Installed</b>"))
        layout.addWidget(self.installed, 1)
        layout.addLayout(row1)
        layout.addWidget(QLabel("<b>Available</b>"))
        layout.addWidget(self.available, 1)
        layout.addLayout(row2)
        layout.addWidget(self.message)
        self.remove_button.clicked.connect(self.remove_selected)
        self.import_button.clicked.connect(self.choose_import)
        self.get_button.clicked.connect(self.get_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.resize(720, 560)
        self._set_busy(False)
        self.refresh()

    def refresh(self) -> None:
        infos = self.store.list_installed()
        self.installed.setRowCount(len(infos))
        for r, m in enumerate(infos):
            for c, text in enumerate((m.name, _size(m.size_bytes), "English" if m.english_only else "Many",
                                      m.dtype, m.source)):
                self.installed.setItem(r, c, QTableWidgetItem(text))
        from stenogram.core.model_hub import CATALOGUE

        have = {m.name for m in infos}
        rows = [(b.name, "", "", "this computer", ("bundled", b.name)) for b in self.store.bundled_available()
                if b.name not in have]
        rows += [(e.name, f"{e.approx_mb} MB", "English" if e.english_only else "Many", "Hugging Face",
                  ("hub", e.name)) for e in CATALOGUE if e.name not in have]
        self.available.setRowCount(len(rows))
        for r, (*cells, key) in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, key)
                self.available.setItem(r, c, item)
        self.models_changed.emit(sorted(have))

    def _selected(self, table: QTableWidget):
        rows = table.selectionModel().selectedRows()
        return table.item(rows[0].row(), 0) if rows else None

    def remove_selected(self) -> None:
        item = self._selected(self.installed)
        if item is None:
            return
        try:
            self.store.remove(item.text())
        except Exception as exc:  # noqa: BLE001 — the store's typed errors carry the sentence
            self.message.setText(user_message(exc))
        self.refresh()

    def choose_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a Whisper model folder (MLX or CTranslate2)")
        if folder:
            self.import_folder(Path(folder))

    def import_folder(self, folder: Path) -> QtTask:
        return self._run(lambda _p, _c: self.store.import_folder(folder), f"Importing {folder.name}…")

    def get_selected(self) -> QtTask | None:
        item = self._selected(self.available)
        if item is None:
            self.message.setText("Choose a model in the list first.")
            return None
        kind, name = item.data(Qt.ItemDataRole.UserRole)
        if kind == "bundled":
            return self._run(lambda _p, _c: self.store.install_bundled(name), f"Installing {name}…")

        def download(progress, cancel):
            return self.store.download(name, lambda done, total: progress(done / total if total else 0.0), cancel)

        return self._run(download, f"Downloading {name}…")

    def _run(self, fn, text: str) -> QtTask:
        self.message.setText(text)
        self._set_busy(True)
        self.task = self.worker.run(fn, text, lane=MODELS_LANE)
        self.task.progress.connect(lambda f: self.bar.setValue(int(f * 1000)))
        self.task.succeeded.connect(lambda info: self.message.setText(f"{info.name} is ready."))
        self.task.failed.connect(lambda exc: self.message.setText(user_message(exc)))
        self.task.cancelled.connect(lambda: self.message.setText("Cancelled; a download resumes where it stopped."))
        self.task.finished.connect(self._done)
        return self.task

    def _done(self) -> None:
        self._set_busy(False)
        self.task = None
        self.refresh()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.bar.setVisible(busy)
        self.bar.setValue(0)
        self.cancel_button.setVisible(busy)
        for b in (self.get_button, self.import_button, self.remove_button):
            b.setEnabled(not busy)
