"""The QApplication subclass: files dropped on the Dock icon or opened with "Open With"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication


class QtApplication(QApplication):
    """Emits `files_opened([Path])` for each QFileOpenEvent (macOS Dock / Finder Open With)."""

    files_opened = Signal(list)

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self._pending: list[Path] = []
        self._window_ready = False

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = Path(event.file() or event.url().toLocalFile())
            if self._window_ready:
                self.files_opened.emit([path])
            else:  # macOS sends these before the window exists when launched by a drop
                self._pending.append(path)
            return True
        return super().event(event)

    def take_pending_files(self) -> list[Path]:
        self._window_ready = True
        pending, self._pending = self._pending, []
        return pending
