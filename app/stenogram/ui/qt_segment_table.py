"""The text view: one row per segment (times, speaker, editable text); a click on a word seeks."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QStyle, QTableView, QWidget

from stenogram.core.transcript import Segment
from stenogram.ui.qt_segment_model import (
    COL_END,
    COL_SPEAKER,
    COL_START,
    COL_TEXT,
    COL_WARN,
    QtSegmentModel,
)

CELL_PADDING_PX = 4  # the style's text margin inside a cell (approximately)


def word_at_char(segment: Segment, char_pos: int) -> int:
    """Index of the word covering character `char_pos` of the stripped text; -1 if none."""
    lead = len(segment.text) - len(segment.text.lstrip())
    pos, offset = char_pos + lead, 0
    for i, word in enumerate(segment.words):
        if offset <= pos < offset + len(word.text):
            return i
        offset += len(word.text)
    return -1


class QtSegmentTable(QTableView):
    word_clicked = Signal(int, int)  # segment index, word index
    row_clicked = Signal(int)

    def __init__(self, model: QtSegmentModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Transcript segments")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        # Fixed widths from the font, not ResizeToContents: that measures every row on every
        # change, which costs a long transcript tens of milliseconds per edit.
        time_width = self.fontMetrics().horizontalAdvance("00:00:00.000") + 16
        for col, width in ((COL_START, time_width), (COL_END, time_width), (COL_SPEAKER, time_width)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        header.setSectionResizeMode(COL_WARN, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_WARN, self.fontMetrics().height() + 8)
        header.setSectionResizeMode(COL_TEXT, QHeaderView.ResizeMode.Stretch)
        self.refresh_speaker_column()

    @property
    def segment_model(self) -> QtSegmentModel:
        return self.model()  # type: ignore[return-value]

    def refresh_speaker_column(self) -> None:
        has = any(s.speaker for s in self.segment_model.transcript.segments)
        self.setColumnHidden(COL_SPEAKER, not has)

    def current_row(self) -> int:
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.selectionModel().selectedRows()})

    def follow(self, row: int) -> None:
        """Make `row` current (playback moved there) without disturbing an open editor."""
        if row < 0 or row == self.current_row() or self.state() == QAbstractItemView.State.EditingState:
            return
        self.setCurrentIndex(self.model().index(row, COL_TEXT))
        self.scrollTo(self.model().index(row, COL_TEXT), QAbstractItemView.ScrollHint.EnsureVisible)

    def open_editor(self) -> QLineEdit | None:
        """The line editor open on a text cell, if any (for "split at cursor")."""
        if self.state() != QAbstractItemView.State.EditingState:
            return None
        editors = [e for e in self.viewport().findChildren(QLineEdit) if e.isVisible()]
        return editors[0] if editors else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        index = self.indexAt(event.position().toPoint())
        if not index.isValid() or event.button() != Qt.MouseButton.LeftButton:
            return
        self.row_clicked.emit(index.row())
        if index.column() == COL_TEXT:
            word = self._word_under(index, event.position().x())
            if word >= 0:
                self.word_clicked.emit(index.row(), word)

    def _word_under(self, index: QModelIndex, x: float) -> int:
        seg: Segment = self.segment_model.transcript.segments[index.row()]
        if not seg.words:
            return -1
        rect = self.visualRect(index)
        margin = self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1
        dx = x - rect.left() - margin
        text = seg.text.strip()
        fm = self.fontMetrics()
        # Single-line cells: the character under the pointer by cumulative advance.
        for pos in range(len(text)):
            if fm.horizontalAdvance(text[: pos + 1]) > dx:
                return word_at_char(seg, pos)
        return -1
