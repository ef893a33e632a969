"""Saves an open transcript's edits to the library as they happen.

Every change of the core history starts a short timer; when it fires the library writes the
segments that changed (one small transaction). A drag of forty steps is one save, and at most
`AUTOSAVE_DELAY_MS` of edits are ever unsaved. Closing flushes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from stenogram.core.edits import EditHistory
from stenogram.ui import library_access

AUTOSAVE_DELAY_MS = 300  # well inside the one second of edits the library may lose


class QtAutosave(QObject):
    failed = Signal(str)  # a sentence when the library could not save

    def __init__(self, history: EditHistory, transcript_id: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.transcript_id = transcript_id
        self._timer = QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.flush)
        history.changed.connect(self._on_change)
        self._closed = False

    def attach(self, transcript_id: Any) -> None:
        """The transcript was just stored under this id: save its later edits there."""
        self.transcript_id = transcript_id

    def _on_change(self, _event: Any) -> None:
        if self.transcript_id is not None and not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        if self.transcript_id is None:
            return
        try:
            library_access.save_changes(self.transcript_id, self.history.transcript)
        except Exception as exc:  # noqa: BLE001 — the library's errors carry their sentence
            self.failed.emit(f"Could not save your edits to the library: {exc}")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.flush()
            self.history.changed.disconnect(self._on_change)
