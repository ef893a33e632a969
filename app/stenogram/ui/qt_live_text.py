"""Live text: committed words solid, the tentative tail greyed, updated in place.

Only the tail is ever rewritten, so an hour of committed text costs nothing per update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QWidget


class QtLiveText(QTextEdit):
    updated = Signal()  # after committed words or a new tentative tail were shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAccessibleName("Live transcript")
        self.setPlaceholderText("Press Start and speak: the words appear here as you talk.")
        self.committed_text = ""
        self.tentative_text = ""
        self._committed_end = 0  # document position where the tentative tail begins

    def _formats(self) -> tuple[QTextCharFormat, QTextCharFormat]:
        solid = QTextCharFormat()
        solid.setForeground(self.palette().color(QPalette.ColorRole.Text))
        grey = QTextCharFormat()
        grey.setForeground(self.palette().color(QPalette.ColorRole.PlaceholderText))
        grey.setFontItalic(True)
        return solid, grey

    def add_committed(self, words: Sequence[Any]) -> None:
        text = _join(words, first=not self.committed_text)
        if not text:
            return
        solid, _ = self._formats()
        cursor = self._tail_cursor()
        cursor.insertText(text, solid)
        self.committed_text += text
        self._committed_end = cursor.position()
        self._write_tentative(self.tentative_text, solid_follows=True)
        self.updated.emit()

    def set_tentative(self, words: Sequence[Any]) -> None:
        self._write_tentative(_join(words, first=not self.committed_text), solid_follows=False)

    def clear_all(self) -> None:
        self.clear()
        self.committed_text = self.tentative_text = ""
        self._committed_end = 0

    def _write_tentative(self, text: str, *, solid_follows: bool) -> None:
        if solid_follows:  # the old tail is now partly committed: it is redrawn next update
            text = ""
        _, grey = self._formats()
        cursor = self._tail_cursor()
        cursor.insertText(text, grey)
        self.tentative_text = text
        bar = self.verticalScrollBar()
        if bar.value() >= bar.maximum() - 40:  # follow the end unless the user scrolled up
            bar.setValue(bar.maximum())
        if not solid_follows:
            self.updated.emit()

    def _tail_cursor(self) -> QTextCursor:
        """A cursor selecting the tentative tail (which the next insert replaces)."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._committed_end)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        return cursor


def _join(words: Sequence[Any], *, first: bool) -> str:
    text = "".join(w.text for w in words)  # Whisper's words carry their leading space
    return text.lstrip() if first else text
