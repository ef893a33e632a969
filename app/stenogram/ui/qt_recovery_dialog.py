"""Recordings a crash left behind, offered back at start: recover (and transcribe) or discard.

The recordings come from ``core.recording_file.find_unfinished_recordings``; recovering
repairs the WAV header and gives the file its final name, then the window queues it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stenogram.ui.timefmt import format_ms

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class QtRecoveryDialog(QDialog):
    recovered = Signal(Path)  # a repaired recording, ready to transcribe
    discarded = Signal(Path)

    def __init__(self, recordings: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recover Recordings")
        self.setAccessibleName("Recover recordings")
        intro = QLabel(
            "<b>Stenogram stopped while recording.</b><br>These recordings were kept. "
            "Recover one to transcribe it, or discard it."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Unfinished recordings")
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        for rec in recordings:
            item = QListWidgetItem(_describe(rec))
            item.setData(PATH_ROLE, str(rec.path))
            item.setToolTip(str(rec.path))
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.recover_button = QPushButton("Recover and Transcribe")
        self.recover_button.setDefault(True)
        self.discard_button = QPushButton("Discard…")
        self.later_button = QPushButton("Later")
        self.recover_button.clicked.connect(self.recover_selected)
        self.discard_button.clicked.connect(self._confirm_discard)
        self.later_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        buttons.addWidget(self.recover_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.resize(520, 300)

    def paths(self) -> list[Path]:
        return [Path(self.list.item(i).data(PATH_ROLE)) for i in range(self.list.count())]

    def _selected(self) -> list[QListWidgetItem]:
        return self.list.selectedItems() or ([self.list.currentItem()] if self.list.currentItem() else [])

    def recover_selected(self) -> list[Path]:
        from stenogram.core.recording_file import RecordingFileError, recover

        done = []
        for item in self._selected():
            try:
                path = recover(Path(item.data(PATH_ROLE)))
            except RecordingFileError as exc:
                self.message.setText(exc.user_message)
                continue
            self.list.takeItem(self.list.row(item))
            done.append(path)
            self.recovered.emit(path)
        self._close_when_empty()
        return done

    def discard_selected(self) -> list[Path]:
        from stenogram.core.recording_file import RecordingFileError, discard

        gone = []
        for item in self._selected():
            path = Path(item.data(PATH_ROLE))
            try:
                discard(path)
            except RecordingFileError as exc:
                self.message.setText(exc.user_message)
                continue
            self.list.takeItem(self.list.row(item))
            gone.append(path)
            self.discarded.emit(path)
        self._close_when_empty()
        return gone

    def _confirm_discard(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        count = len(self._selected())
        answer = QMessageBox.question(
            self, "Discard Recordings",
            f"Delete {count} recording{'s' if count != 1 else ''} for good?",
        )  # fmt: skip
        if answer == QMessageBox.StandardButton.Yes:
            self.discard_selected()

    def _close_when_empty(self) -> None:
        if self.list.count() == 0:
            self.accept()


def _describe(rec: Any) -> str:
    length = format_ms(rec.duration_ms, millis=False)
    return f"{rec.path.name}  ·  {length}  ·  {rec.modified:%Y-%m-%d %H:%M}"
