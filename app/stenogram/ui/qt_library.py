"""The library sidebar: past transcripts, and a search across all of them.

Queries run on the worker's I/O lane; a hit opens its transcript at the moment it was found.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from stenogram.ui import library_access
from stenogram.ui.qt_worker import IO_LANE, QtWorker
from stenogram.ui.timefmt import format_ms

SEARCH_DELAY_MS = 200  # wait for the typing to pause before querying
HIT_ROLE = Qt.ItemDataRole.UserRole + 1


class QtLibraryPanel(QWidget):
    open_requested = Signal(object, object)  # transcript id, ms (None: from the start)

    def __init__(self, worker: QtWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.search_edit = QLineEdit(placeholderText="Search all transcripts")
        self.search_edit.setAccessibleName("Search the library")
        self.search_edit.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setAccessibleName("Library")
        self.results.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        title = QLabel("<b>Library</b>")
        layout.addWidget(title)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.note)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self.search_edit.textChanged.connect(lambda _t: self._timer.start())
        self.results.itemActivated.connect(self._open)
        self.results.itemClicked.connect(self._open)
        self._generation = 0

    def refresh(self) -> None:
        """Re-run the search (or list recent transcripts) in the background."""
        query = self.search_edit.text().strip()
        self._generation += 1
        generation = self._generation

        def run(_progress, _cancel):
            return library_access.search(query) if query else library_access.recent()

        task = self.worker.run(run, "library", lane=IO_LANE)
        task.succeeded.connect(lambda hits: self._show(hits, query, generation))
        task.failed.connect(lambda exc: self.note.setText(getattr(exc, "user_message", None) or str(exc)))

    def _show(self, hits, query: str, generation: int) -> None:
        if generation != self._generation:  # a newer query was typed meanwhile
            return
        self.results.clear()
        for hit in hits:
            when = f"{format_ms(hit.at_ms, millis=False)} · " if hit.at_ms is not None else ""
            item = QListWidgetItem(f"{hit.title}\n{when}{hit.snippet}".strip())
            item.setData(HIT_ROLE, hit)
            item.setToolTip(hit.snippet)
            self.results.addItem(item)
        if hits:
            self.note.clear()
        else:
            self.note.setText(f"Nothing found for “{query}”." if query else "Transcripts you make appear here.")

    def _open(self, item: QListWidgetItem) -> None:
        hit = item.data(HIT_ROLE)
        if hit is not None:
            self.open_requested.emit(hit.transcript_id, hit.at_ms)
