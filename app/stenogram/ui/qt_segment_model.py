"""The one table-model adapter over a transcript's pure segment list.

Rows are `transcript.segments`; the model never stores segments itself. Edits made in the
table become core edits pushed through `QtUndo`; every change (from the table, the timeline,
undo or find/replace) reaches the view through the core history's `changed` signal.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from stenogram.core.edits import ChangeText, EditError, HistoryEvent, SetTimes
from stenogram.ui.qt_undo import QtUndo
from stenogram.ui.segment_warnings import flag_warnings
from stenogram.ui.timefmt import format_ms, parse_clock

COL_START, COL_END, COL_SPEAKER, COL_WARN, COL_TEXT = range(5)
# Warnings have their own column: Qt re-reads an open editor on any dataChanged covering its
# cell, so refreshing warnings must never touch the text column while someone types.
HEADERS = ("Start", "End", "Speaker", "", "Text")
SEGMENT_ROLE = Qt.ItemDataRole.UserRole + 1  # the Segment value
WARNINGS_ROLE = Qt.ItemDataRole.UserRole + 2  # list[str] of reasons
Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invisible root: a flat table has no other parent


_icon_cache: list[Any] = []


def _warning_icon() -> Any:
    if not _icon_cache:
        from PySide6.QtWidgets import QApplication, QStyle

        _icon_cache.append(QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
    return _icon_cache[0]


class QtSegmentModel(QAbstractTableModel):
    refused = Signal(str)  # why an edit typed into the table was not applied

    def __init__(self, undo: QtUndo, parent: Any = None) -> None:
        super().__init__(parent)
        self.undo = undo
        self.history = undo.history
        self.transcript = undo.history.transcript
        self.violations: dict[int, list[str]] = {}  # segment index → subtitle rule problems
        self.history.changed.connect(self._on_history)

    def detach(self) -> None:
        self.history.changed.disconnect(self._on_history)

    # -- reading ---------------------------------------------------------------------------
    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.transcript.segments)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return HEADERS[section] if orientation == Qt.Orientation.Horizontal else str(section + 1)

    def warnings(self, row: int) -> list[str]:
        return flag_warnings(self.transcript.segments[row]) + self.violations.get(row, [])

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        seg = self.transcript.segments[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == COL_START:
                return format_ms(seg.start_ms)
            if col == COL_END:
                return format_ms(seg.end_ms)
            if col == COL_SPEAKER:
                return seg.speaker or ""
            if col == COL_WARN:
                return None
            return seg.text.strip()
        if role == SEGMENT_ROLE:
            return seg
        if role == WARNINGS_ROLE:
            return self.warnings(index.row())
        if role == Qt.ItemDataRole.ToolTipRole and col in (COL_TEXT, COL_WARN):
            reasons = self.warnings(index.row())
            return "\n".join(f"⚠ {r}" for r in reasons) if reasons else None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_WARN and self.warnings(index.row()):
            return _warning_icon()
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_WARN:
            return "Warning" if self.warnings(index.row()) else ""
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_START, COL_END):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() in (COL_START, COL_END, COL_TEXT):
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    # -- writing: every change is a core edit ----------------------------------------------
    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        row, col = index.row(), index.column()
        seg = self.transcript.segments[row]
        try:
            if col == COL_TEXT:
                text = str(value).strip()
                if text == seg.text.strip():
                    return False
                # Whisper's text starts with a space; keep that convention for typed text.
                lead = " " if seg.text.startswith(" ") else ""
                self.undo.push(ChangeText(row, lead + text))
            elif col in (COL_START, COL_END):
                ms = parse_clock(str(value))
                edit = SetTimes(row, start_ms=ms) if col == COL_START else SetTimes(row, end_ms=ms)
                self.undo.push(edit)
            else:
                return False
        except (EditError, ValueError) as exc:
            self.refused.emit(str(exc))
            return False
        return True

    def warnings_changed(self, rows: set[int]) -> None:
        """Repaint the warning cells of `rows` (never the text cells: see COL_WARN)."""
        for row in sorted(r for r in rows if r < self.rowCount()):
            cell = self.index(row, COL_WARN)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])

    # -- following the core ----------------------------------------------------------------
    def _on_history(self, event: HistoryEvent) -> None:
        edit = event.edit
        if edit is None:  # the history was cleared or replaced: start over
            self.beginResetModel()
            self.endResetModel()
            return
        splices = edit.splices
        if event.action == "undo":
            steps = [(sp.index, len(sp.new), len(sp.old)) for sp in reversed(splices)]
        else:
            steps = [(sp.index, len(sp.old), len(sp.new)) for sp in splices]
        if sum(1 for _i, a, b in steps if a != b) > 1:
            self.beginResetModel()  # several row-count changes at once: rare, keep it simple
            self.endResetModel()
            return
        for index, before, after in steps:
            self._replace_rows(index, before, after)

    def _replace_rows(self, index: int, before: int, after: int) -> None:
        # The core already changed the list; tell the view which rows are new, gone or changed.
        if after > before:
            self.beginInsertRows(QModelIndex(), index + before, index + after - 1)
            self.endInsertRows()
        elif before > after:
            self.beginRemoveRows(QModelIndex(), index + after, index + before - 1)
            self.endRemoveRows()
        common = min(before, after)
        if common:
            self.dataChanged.emit(self.index(index, 0), self.index(index + common - 1, len(HEADERS) - 1))
