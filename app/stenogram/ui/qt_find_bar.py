"""Find and replace over the open transcript, using the core's matching and ReplaceAll edit."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from stenogram.core.edits import (
    ChangeText,
    EditError,
    ReplaceAll,
    SearchOptions,
    compile_pattern,
    find_matches,
)
from stenogram.ui.qt_undo import QtUndo


class QtFindBar(QWidget):
    match_selected = Signal(int, int, int)  # segment index, start, end (characters)

    def __init__(self, undo: QtUndo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo = undo
        self.find_edit = QLineEdit(placeholderText="Find")
        self.find_edit.setAccessibleName("Find")
        self.replace_edit = QLineEdit(placeholderText="Replace with")
        self.replace_edit.setAccessibleName("Replace with")
        self.case = QCheckBox("Aa")
        self.case.setToolTip("Match case")
        self.case.setAccessibleName("Match case")
        self.words = QCheckBox("Whole words")
        self.regex = QCheckBox(".*")
        self.regex.setToolTip("Regular expression")
        self.regex.setAccessibleName("Regular expression")
        self.status = QLabel()
        self.next_button = QPushButton("Next")
        self.replace_button = QPushButton("Replace")
        self.replace_all_button = QPushButton("Replace All")
        close = QPushButton("Done")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for w in (self.find_edit, self.case, self.words, self.regex, self.next_button,
                  self.replace_edit, self.replace_button, self.replace_all_button, self.status, close):
            layout.addWidget(w)
        self.find_edit.returnPressed.connect(self.find_next)
        self.find_edit.textChanged.connect(self._reset)
        self.next_button.clicked.connect(self.find_next)
        self.replace_button.clicked.connect(self.replace_one)
        self.replace_all_button.clicked.connect(self.replace_all)
        close.clicked.connect(self.hide)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.hide)
        self._cursor = (-1, 0)  # (segment, char) after the last match shown
        self._current = None

    def options(self) -> SearchOptions:
        return SearchOptions(regex=self.regex.isChecked(), case_sensitive=self.case.isChecked(),
                             whole_words=self.words.isChecked())

    def open(self) -> None:
        self.show()
        self.find_edit.setFocus()
        self.find_edit.selectAll()

    def _reset(self) -> None:
        self._cursor, self._current = (-1, 0), None
        self.status.clear()

    def find_next(self) -> bool:
        try:
            matches = list(find_matches(self.undo.history.transcript, self.find_edit.text(), self.options()))
        except EditError as exc:
            self.status.setText(str(exc))
            return False
        if not matches:
            self.status.setText("Not found")
            self._current = None
            return False
        after = [m for m in matches if (m.segment_index, m.start) > self._cursor]
        m = after[0] if after else matches[0]  # wrap around
        self._current = m
        self._cursor = (m.segment_index, m.start)
        self.status.setText(f"{matches.index(m) + 1} of {len(matches)}")
        self.match_selected.emit(m.segment_index, m.start, m.end)
        return True

    def replace_one(self) -> None:
        if self._current is None and not self.find_next():
            return
        m = self._current
        seg = self.undo.history.transcript.segments[m.segment_index]
        try:
            pattern = compile_pattern(self.find_edit.text(), self.options())
            hit = pattern.match(seg.text, m.start)
            if hit is None:  # the text changed since: look again
                self._current = None
                self.find_next()
                return
            replacement = hit.expand(self.replace_edit.text()) if self.regex.isChecked() else self.replace_edit.text()
            text = seg.text[: hit.start()] + replacement + seg.text[hit.end():]
            self.undo.push(ChangeText(m.segment_index, text))
        except (EditError, IndexError, ValueError) as exc:  # bad group reference in a regex
            self.status.setText(str(exc))
            return
        self._cursor = (m.segment_index, m.start + len(replacement) - 1)
        self._current = None
        self.find_next()

    def replace_all(self) -> int:
        transcript = self.undo.history.transcript
        try:
            count = sum(1 for _ in find_matches(transcript, self.find_edit.text(), self.options()))
            if count:
                self.undo.push(ReplaceAll(self.find_edit.text(), self.replace_edit.text(), self.options()))
        except EditError as exc:
            self.status.setText(str(exc))
            return 0
        self.status.setText(f"Replaced {count}" if count else "Not found")
        self._reset_cursor_only()
        return count

    def _reset_cursor_only(self) -> None:
        self._cursor, self._current = (-1, 0), None
