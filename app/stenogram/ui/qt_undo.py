"""The one QUndoCommand adapter: every edit is a core `Edit` pushed through the core's history.

The core's `EditHistory` does the work (apply, exact inverse, unlimited depth); the QUndoStack
gives the app its Undo/Redo actions, labels and ⌘Z/⇧⌘Z. Each Qt command stands for one or
more consecutive core entries, so the two stacks move in step:

* `QtUndo.push(edit)` applies the edit through the core first (an EditError changes nothing
  and reaches the caller), then records an already-done command on the stack.
* Commands pushed with the same `gesture` token (a fresh `object()` per drag) merge (`QUndoCommand.mergeWith`), so a drag of a
  segment edge that applied forty SetTimes edits is one undo entry that undoes all forty.
"""

from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoStack

from stenogram.core.edits import Edit, EditHistory

GESTURE_COMMAND_ID = 1  # QUndoStack only calls mergeWith between commands with equal ids


class QtEditCommand(QUndoCommand):
    def __init__(self, history: EditHistory, edit: Edit, gesture: Hashable | None) -> None:
        super().__init__(edit.label)
        self.history = history
        self.edits = [edit]
        self.gesture = gesture
        self._applied = True  # QtUndo.push already applied it through the core

    def id(self) -> int:
        return GESTURE_COMMAND_ID if self.gesture is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, QtEditCommand) or other.gesture != self.gesture:
            return False
        self.edits.extend(other.edits)
        return True

    def redo(self) -> None:
        if self._applied:  # the push itself: already done
            self._applied = False
            return
        for _ in self.edits:
            self.history.redo()

    def undo(self) -> None:
        for _ in self.edits:
            self.history.undo()


class QtUndo(QObject):
    """Owns the QUndoStack of one open transcript."""

    def __init__(self, history: EditHistory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.stack = QUndoStack(self)

    def push(self, edit: Edit, gesture: Hashable | None = None) -> Edit:
        """Apply an edit and record it; raises the core's EditError (nothing changed) on refusal.

        Edits with the same non-None `gesture` key pushed one after another become one entry.
        """
        self.history.push(edit, merge=False)  # merging is ours, so the stacks stay in step
        if edit.is_noop and gesture is None:
            # Keep no empty entries: undo the no-op at once (exact). The core keeps it on its
            # redo list, which no Qt command reaches and the next push clears.
            self.history.undo()
            return edit
        self.stack.push(QtEditCommand(self.history, edit, gesture))
        return edit
