"""Speakers in the editor: rename one everywhere, set a segment's speaker, a colour for each.

`QtSpeakers` attaches to one `QtEditor`: it colours the table's speaker cells (a delegate) and
draws a band in the speaker's colour under each timeline block, opens the rename dialog on a
double-click of a speaker cell, and gives the table a context menu (the speakers to choose from,
"New Speaker…", "Rename …"). Every change is a core edit (`RenameSpeaker`, `SetSpeaker`) pushed
through the editor's `QtUndo`, so a rename is one undo entry however many segments it touches.

Dialogs and the menu are opened without blocking (`open()`/`popup()`) and kept in `dialog`
and `menu`, so nothing here stops the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QInputDialog,
    QLineEdit,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from stenogram.core.edits import EditError, HistoryEvent, RenameSpeaker, SetSpeaker
from stenogram.ui.qt_segment_model import COL_SPEAKER
from stenogram.ui.speaker_palette import PALETTE, SpeakerPalette

if TYPE_CHECKING:
    from stenogram.ui.qt_editor import QtEditor

BAND_PX = 5  # height of the speaker's colour band along the bottom of a timeline block
NEW_SPEAKER_NAME = "Speaker {n}"  # suggested name in "New Speaker…"


class QtSpeakerDelegate(QStyledItemDelegate):
    """Paints a speaker cell on the speaker's colour, mixed with the view's background."""

    def __init__(self, palette: SpeakerPalette, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.palette = palette

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        background = option.palette.color(QPalette.ColorRole.Base)
        color = self.palette.cell_color(index.data() or None, background)
        if color is not None:
            option.backgroundBrush = QBrush(color)


class QtSpeakers(QObject):
    def __init__(self, editor: QtEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        self.transcript = editor.transcript
        self.palette = SpeakerPalette(self.transcript.speakers)
        self.dialog: QInputDialog | None = None  # the open rename / new speaker dialog
        self.menu: QMenu | None = None  # the open context menu
        table = editor.table
        self.delegate = QtSpeakerDelegate(self.palette, table)
        table.setItemDelegateForColumn(COL_SPEAKER, self.delegate)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._on_context_menu)
        table.doubleClicked.connect(self._on_double_click)
        editor.timeline.decorate = self.paint_timeline_band
        editor.history.changed.connect(self._on_history)

    def detach(self) -> None:
        self.editor.history.changed.disconnect(self._on_history)
        self.editor.timeline.decorate = None

    def _on_history(self, _event: HistoryEvent) -> None:
        self.palette.sync(self.transcript.speakers)

    # -- the commands ------------------------------------------------------------------------
    def rename(self, old: str, new: str) -> bool:
        """Rename speaker `old` in every segment: one undo entry. A name in use merges the two."""
        new = new.strip()
        if not new:
            self.editor.status.emit("A speaker needs a name; the speaker was not renamed.")
            return False
        if new == old or old not in self.transcript.speakers:
            return False
        self.palette.carry(old, new)
        try:
            self.editor.undo.push(RenameSpeaker(old, new))
        except EditError as exc:
            self.editor.status.emit(str(exc))
            return False
        return True

    def set_speaker(self, rows: list[int], name: str | None) -> bool:
        """Give the segments `rows` the speaker `name` (None: no speaker): one undo entry."""
        name = (name or "").strip() or None
        segments = self.transcript.segments
        rows = [r for r in rows if 0 <= r < len(segments) and segments[r].speaker != name]
        if not rows:
            return False
        gesture = object()  # all rows: one undo entry
        for row in rows:
            self.editor.undo.push(SetSpeaker(row, name), gesture=gesture)
        return True

    # -- asking the user ---------------------------------------------------------------------
    def ask_rename(self, old: str) -> QInputDialog:
        count = sum(1 for s in self.transcript.segments if s.speaker == old)
        dialog = self._dialog("Rename Speaker",
                              f"Rename “{old}” in {count} segment{'s' if count != 1 else ''} to:", old)
        dialog.textValueSelected.connect(lambda text: self.rename(old, text))
        return dialog

    def ask_rename_current(self) -> QInputDialog | None:
        """The Edit menu's "Rename Speaker…": the current segment's speaker."""
        row = self.editor.current_index()
        segments = self.transcript.segments
        speaker = segments[row].speaker if 0 <= row < len(segments) else None
        if speaker is None:
            speakers = self.transcript.speakers
            if len(speakers) != 1:
                self.editor.status.emit("Select a segment of the speaker you want to rename.")
                return None
            speaker = speakers[0]
        return self.ask_rename(speaker)

    def ask_new_speaker(self, rows: list[int]) -> QInputDialog:
        taken = set(self.transcript.speakers)
        n = len(taken) + 1
        while NEW_SPEAKER_NAME.format(n=n) in taken:
            n += 1
        dialog = self._dialog("New Speaker", "Name of the new speaker:", NEW_SPEAKER_NAME.format(n=n))
        dialog.textValueSelected.connect(lambda text: self.set_speaker(rows, text))
        return dialog

    def _dialog(self, title: str, label: str, text: str) -> QInputDialog:
        if self.dialog is not None:
            self.dialog.close()
        dialog = QInputDialog(self.editor)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setTextValue(text)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda: self._forget_dialog(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog: QInputDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _on_double_click(self, index: QModelIndex) -> None:
        if index.column() != COL_SPEAKER:
            return
        speaker = self.transcript.segments[index.row()].speaker
        if speaker:
            self.ask_rename(speaker)
        else:
            self.ask_new_speaker([index.row()])

    # -- the context menu --------------------------------------------------------------------
    def context_menu(self, row: int) -> QMenu:
        """The menu for segment `row` (and the other selected rows when it is one of them)."""
        selected = self.editor.table.selected_rows()
        rows = selected if row in selected else [row]
        current = self.transcript.segments[row].speaker
        menu = QMenu(self.editor.table)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addSection("Speaker")
        for name in self.transcript.speakers:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name == current and len(rows) == 1)
            action.triggered.connect(lambda _=False, n=name: self.set_speaker(rows, n))
        menu.addAction("New Speaker…").triggered.connect(lambda: self.ask_new_speaker(rows))
        if any(self.transcript.segments[r].speaker for r in rows):
            menu.addAction("No Speaker").triggered.connect(lambda: self.set_speaker(rows, None))
        if current:
            menu.addSeparator()
            menu.addAction(f"Rename “{current}”…").triggered.connect(lambda: self.ask_rename(current))
        self.menu = menu
        menu.destroyed.connect(lambda: setattr(self, "menu", None) if self.menu is menu else None)
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.editor.table.indexAt(pos)
        if index.isValid():
            self.context_menu(index.row()).popup(self.editor.table.viewport().mapToGlobal(pos))

    # -- the timeline ------------------------------------------------------------------------
    def paint_timeline_band(self, painter: QPainter, first: int, last: int, top: float, bottom: float) -> None:
        """A band in the speaker's colour along the bottom of the visible blocks [first, last)."""
        if not self.palette:  # no speakers ever: nothing to draw, no loop over the blocks
            return
        timeline, segments = self.editor.timeline, self.transcript.segments
        bands: dict[int, list[QRectF]] = {}
        y = max(top, bottom - BAND_PX)
        for i in range(first, min(last, len(segments))):
            slot = self.palette.slot(segments[i].speaker)
            if slot is None:
                continue
            x0, x1 = timeline.x_of(segments[i].start_ms), timeline.x_of(segments[i].end_ms)
            bands.setdefault(slot, []).append(QRectF(x0, y, max(1.0, x1 - x0), bottom - y))
        painter.setPen(Qt.PenStyle.NoPen)
        for slot, rects in bands.items():
            painter.setBrush(QColor(PALETTE[slot]))
            painter.drawRects(rects)
        painter.setBrush(Qt.BrushStyle.NoBrush)

