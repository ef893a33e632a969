"""The editor of one transcript: timeline and text side by side over one core EditHistory.

It wires parts that each know one thing — `QtTimeline`, `QtSegmentTable` over `QtSegmentModel`,
`QtFindBar`, `QtPlayer`, `QtVideoView` — and turns its commands (split, merge, insert, delete,
shift) into core edits pushed through `QtUndo`. It holds no segment data of its own.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from stenogram.core.edits import (
    DeleteSegments,
    EditError,
    EditHistory,
    InsertSegment,
    MergeWithNext,
    ShiftTimes,
    SplitSegment,
)
from stenogram.core.transcript import Segment, Transcript
from stenogram.ui.qt_find_bar import QtFindBar
from stenogram.ui.qt_player import QtPlayer
from stenogram.ui.qt_segment_model import COL_TEXT, QtSegmentModel
from stenogram.ui.qt_segment_table import QtSegmentTable
from stenogram.ui.qt_speakers import QtSpeakers
from stenogram.ui.qt_timeline import QtTimeline
from stenogram.ui.qt_undo import QtUndo
from stenogram.ui.qt_worker import IO_LANE, QtWorker
from stenogram.ui.segment_warnings import violation_warnings

NEW_SEGMENT_MS = 2000  # length of an inserted segment when the gap allows
VIOLATION_DELAY_MS = 250  # re-check subtitle rules this long after the last edit


def _load_media(path: Path):
    from stenogram.core.media import probe
    from stenogram.core.waveform import compute_peaks

    return probe(path), compute_peaks(path)


class QtEditor(QWidget):
    status = Signal(str)  # a sentence for the status bar (refused edits, media problems)

    def __init__(self, transcript: Transcript, worker: QtWorker, rules: Any = None,
                 transcript_id: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.transcript = transcript
        self.transcript_id = transcript_id
        self.rules = rules
        self._worker = worker
        self._warning_generation = 0
        self.history = EditHistory(transcript)
        self.undo = QtUndo(self.history, self)
        self.model = QtSegmentModel(self.undo, self)
        self.timeline = QtTimeline(self.undo)
        self.table = QtSegmentTable(self.model)
        self.find_bar = QtFindBar(self.undo)
        self.find_bar.hide()
        self.player = QtPlayer(self)
        self.video = None  # QtVideoView, made when the medium has a picture
        self.media_info = None
        self.media_message = QLabel()
        self.media_message.setWordWrap(True)
        self.media_message.hide()
        self._splitter = QSplitter(Qt.Orientation.Vertical)
        self._splitter.addWidget(self.timeline)
        self._splitter.addWidget(self.table)
        self._splitter.setStretchFactor(1, 1)
        self._splitter.setSizes([260, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        from stenogram.ui.qt_transport import QtTransport

        self.transport = QtTransport(self)
        layout.addWidget(self.media_message)
        layout.addWidget(self.transport)
        layout.addWidget(self._splitter, 1)
        layout.addWidget(self.find_bar)
        self._violation_timer = QTimer(self, singleShot=True, interval=VIOLATION_DELAY_MS)
        self._violation_timer.timeout.connect(self.refresh_warnings)
        self._connect()
        self.speakers = QtSpeakers(self)  # rename / set speakers, a colour for each
        # Space plays/pauses; a line editor being typed in takes the key first (shortcut override).
        play = QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.player.toggle)
        play.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.refresh_warnings()
        self._load_media(worker)

    def _connect(self) -> None:
        self.timeline.seek_requested.connect(self.seek)
        self.timeline.segment_clicked.connect(self.select_segment)
        self.timeline.segment_activated.connect(self.edit_segment)
        self.table.word_clicked.connect(self._on_word_clicked)
        self.table.row_clicked.connect(self._on_row_clicked)
        self.find_bar.match_selected.connect(lambda i, _a, _b: self.select_segment(i))
        self.player.position_changed.connect(self._on_position)
        self.player.error.connect(self.status.emit)
        self.history.changed.connect(self._on_history)
        self.model.refused.connect(self.status.emit)

    def _load_media(self, worker: QtWorker) -> None:
        path = self.transcript.media_path
        if not path or not Path(path).exists():
            if path:
                self._show_media_message(f"The media file “{path}” is not there any more: "
                                         "you can edit and export, but not listen.")
            return
        task = worker.run(lambda _p, _c: _load_media(Path(path)), "waveform", lane=IO_LANE)
        task.succeeded.connect(self._on_media_ready)
        task.failed.connect(lambda exc: self._show_media_message(getattr(exc, "user_message", str(exc))))

    def _on_media_ready(self, result) -> None:
        info, peaks = result
        self.media_info = info
        self.timeline.set_peaks(peaks)
        sink = None
        if info.has_video:
            from stenogram.ui.qt_video import QtVideoView

            self.video = QtVideoView()
            self._splitter.insertWidget(0, self.video)
            sink = self.video.video
        self.player.open(info.path, sink)

    def _show_media_message(self, text: str) -> None:
        self.media_message.setText(text)
        self.media_message.show()

    def shutdown(self) -> None:
        self._violation_timer.stop()
        self.player.stop()
        self.timeline.detach()
        self.model.detach()
        self.speakers.detach()

    # -- following playback and selection ---------------------------------------------------
    def segment_at(self, ms: int) -> int:
        segs = self.transcript.segments
        i = self._bisect(ms)
        return i if i < len(segs) and segs[i].start_ms <= ms else -1

    def _bisect(self, ms: int) -> int:
        segs, lo, hi = self.transcript.segments, 0, len(self.transcript.segments)
        while lo < hi:  # first segment ending after ms, without building a list
            mid = (lo + hi) // 2
            if segs[mid].end_ms <= ms:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _on_position(self, ms: int) -> None:
        self.timeline.set_playhead(ms, follow=self.player.playing)
        index = self.segment_at(ms)
        if index >= 0:
            self.timeline.set_current(index)
            self.table.follow(index)
        if self.video is not None:
            self.video.set_cue(self.transcript.segments[index].text.strip() if index >= 0 else "")

    def seek(self, ms: int) -> None:
        self.player.seek(ms)
        self.timeline.set_playhead(ms, follow=False)

    def show_moment(self, ms: int) -> None:
        """Jump to a time (a library search hit): select its segment and centre it."""
        self.seek(ms)
        self.timeline.ensure_visible(ms, margin_px=self.timeline.viewport().width() // 3)
        index = self.segment_at(ms)
        if index < 0:
            index = min(self._bisect(ms), len(self.transcript.segments) - 1)
        self.select_segment(index)

    def select_segment(self, index: int) -> None:
        if not 0 <= index < len(self.transcript.segments):
            return
        self.timeline.set_current(index)
        model_index = self.model.index(index, COL_TEXT)
        self.table.selectionModel().setCurrentIndex(
            model_index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(model_index)

    def edit_segment(self, index: int) -> None:
        self.select_segment(index)
        self.table.setFocus()
        self.table.edit(self.model.index(index, COL_TEXT))

    def _on_row_clicked(self, row: int) -> None:
        self.timeline.set_current(row)
        self.timeline.ensure_visible(self.transcript.segments[row].start_ms)

    def _on_word_clicked(self, row: int, word: int) -> None:
        self.seek(self.transcript.segments[row].words[word].start_ms)

    def current_index(self) -> int:
        row = self.table.current_row()
        return row if row >= 0 else self.timeline.current

    # -- commands: each a core edit --------------------------------------------------------
    def _push(self, edit) -> bool:
        try:
            self.undo.push(edit)
        except EditError as exc:
            self.status.emit(str(exc))
            return False
        return True

    def split_at_cursor(self) -> bool:
        """Split at the text cursor when editing, else before the word at the playhead."""
        index = self.current_index()
        if index < 0:
            self.status.emit("Select a segment to split.")
            return False
        seg = self.transcript.segments[index]
        editor = self.table.open_editor()
        if editor is not None:
            pos, text = editor.cursorPosition(), editor.text()
            self.model.setData(self.model.index(index, COL_TEXT), text)
            self.table.closeEditor(editor, self.table.itemDelegate().EndEditHint.NoHint)
            seg = self.transcript.segments[index]
            lead = len(seg.text) - len(seg.text.lstrip())
            return self._push(SplitSegment(index, char_pos=pos + lead))
        playhead = self.timeline.playhead_ms
        starts = [w.start_ms for w in seg.words]
        k = bisect.bisect_left(starts, playhead) if seg.start_ms < playhead < seg.end_ms else len(starts) // 2
        if 0 < k < len(seg.words):
            return self._push(SplitSegment(index, word_index=k))
        return self._push(SplitSegment(index, char_pos=len(seg.text) // 2))

    def merge_with_next(self) -> bool:
        return self._push(MergeWithNext(self.current_index()))

    def insert_segment(self) -> bool:
        """A new empty segment after the current one, in the gap that follows it."""
        segs = self.transcript.segments
        index = self.current_index()
        start = segs[index].end_ms if index >= 0 else (segs[-1].end_ms if segs else 0)
        limit = segs[index + 1].start_ms if 0 <= index < len(segs) - 1 else start + NEW_SEGMENT_MS
        if limit - start < 100:
            self.status.emit("There is no room after this segment; shorten it or move the next one first.")
            return False
        position = index + 1 if index >= 0 else len(segs)
        if self._push(InsertSegment(position, Segment(start, min(limit, start + NEW_SEGMENT_MS), ""))):
            self.edit_segment(position)
            return True
        return False

    def delete_segments(self) -> bool:
        rows = self.table.selected_rows() or [self.current_index()]
        if rows[0] < 0:
            return False
        return self._push(DeleteSegments(rows[0], rows[-1] - rows[0] + 1))

    def shift_times(self, offset_ms: int | None = None) -> bool:
        """Shift the selected segments (or all from the current one on) by an offset."""
        if offset_ms is None:
            value, ok = QInputDialog.getInt(self, "Shift Times", "Shift by (milliseconds, negative = earlier):",
                                            0, -3_600_000, 3_600_000, 100)
            if not ok:
                return False
            offset_ms = value
        rows = self.table.selected_rows()
        if len(rows) > 1:
            return self._push(ShiftTimes(offset_ms, rows[0], rows[-1] + 1))
        return self._push(ShiftTimes(offset_ms, max(0, self.current_index())))

    def toggle_loop(self, on: bool) -> None:
        index = self.current_index()
        if on and index >= 0:
            seg = self.transcript.segments[index]
            self.player.set_loop((seg.start_ms, seg.end_ms))
            self.seek(seg.start_ms)
        else:
            self.player.set_loop(None)

    # -- warnings --------------------------------------------------------------------------
    def _on_history(self, _event) -> None:
        self.table.refresh_speaker_column()
        self._violation_timer.start()

    def refresh_warnings(self) -> None:
        """Re-check subtitle rules on the worker's I/O lane; show the result if still current."""
        if self._worker.closed:  # the app is quitting
            return
        if self.rules is None:
            self._show_warnings({})
            return
        snapshot = list(self.transcript.segments)  # immutable segments: safe to read elsewhere
        self._warning_generation += 1
        rules, generation = self.rules, self._warning_generation
        task = self._worker.run(lambda _p, _c: violation_warnings(snapshot, rules), "warnings", lane=IO_LANE)
        task.succeeded.connect(lambda found: generation == self._warning_generation and self._show_warnings(found))

    def _show_warnings(self, violations: dict[int, list[str]]) -> None:
        old, self.model.violations = self.model.violations, violations
        flagged = {i for i, s in enumerate(self.transcript.segments) if s.flags}
        self.timeline.warned = flagged | set(violations)
        self.timeline.viewport().update()
        self.model.warnings_changed({i for i in set(old) | set(violations) if old.get(i) != violations.get(i)})
