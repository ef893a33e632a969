"""The editor on real widgets: drag edges, undo, split/merge, find/replace, typing, export."""

from __future__ import annotations

import pytest
from app_helpers import synthetic_transcript
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from stenogram.ui.qt_segment_model import COL_TEXT
from stenogram.ui.timefmt import format_ms


@pytest.fixture
def editor_window(make_main_window):
    window = make_main_window()
    transcript = synthetic_transcript()
    editor = window.open_transcript(transcript)
    window.activateWindow()
    editor.timeline.set_zoom(100)  # 100 px a second: 10 ms a pixel
    editor.timeline.horizontalScrollBar().setValue(0)
    return window, editor


def press_undo(window, qtbot, redo: bool = False) -> None:
    """⌘Z / ⇧⌘Z as the user types them (Ctrl on Linux), through the window's shortcut."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    QTest.keySequence(window, QKeySequence(QKeySequence.StandardKey.Redo if redo else QKeySequence.StandardKey.Undo))


def drag(qtbot, timeline, from_x: float, to_x: float, steps: int = 6) -> None:
    vp = timeline.viewport()
    y = vp.height() // 2
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=QPoint(round(from_x), y))
    for k in range(1, steps + 1):
        qtbot.mouseMove(vp, QPoint(round(from_x + (to_x - from_x) * k / steps), y))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(round(to_x), y))


def test_dragging_an_edge_moves_it_as_one_undo_entry_and_ctrl_z_restores(qtbot, editor_window):
    window, editor = editor_window
    tl, segs = editor.timeline, editor.transcript.segments
    original = segs[1]
    drag(qtbot, tl, tl.x_of(original.end_ms), tl.x_of(original.end_ms) + 25)
    moved = segs[1]
    assert moved.end_ms > original.end_ms
    assert moved.start_ms == original.start_ms
    assert editor.undo.stack.count() == 1  # six mouse moves, one undo entry
    assert editor.model.data(editor.model.index(1, 1)) == format_ms(moved.end_ms)  # the table follows
    press_undo(window, qtbot)
    assert segs[1] == original
    press_undo(window, qtbot, redo=True)
    assert segs[1] == moved


def test_dragging_past_the_neighbour_is_clamped_by_the_core(qtbot, editor_window):
    _window, editor = editor_window
    tl, segs = editor.timeline, editor.transcript.segments
    next_start = segs[2].start_ms
    drag(qtbot, tl, tl.x_of(segs[1].end_ms), tl.x_of(next_start) + 200)
    assert segs[1].end_ms == next_start
    assert segs[1].end_ms <= segs[2].start_ms


def test_an_edge_snaps_to_a_nearby_word_boundary(qtbot, editor_window):
    _window, editor = editor_window
    tl, segs = editor.timeline, editor.transcript.segments
    last_word_start = segs[1].words[-1].start_ms  # 450 ms before the segment's end
    drag(qtbot, tl, tl.x_of(segs[1].end_ms), tl.x_of(last_word_start) + 3)  # 30 ms off
    assert segs[1].end_ms == last_word_start


def test_split_at_the_playhead_then_merge_back(qtbot, editor_window):
    window, editor = editor_window
    segs = editor.transcript.segments
    original = list(segs)
    editor.select_segment(0)
    editor.seek(segs[0].words[2].start_ms - 10)
    window.actions_.split.trigger()
    assert len(segs) == len(original) + 1
    assert segs[0].text.strip() == "w0x0 w0x1"
    assert segs[1].text.strip() == "w0x2 w0x3"
    assert segs[1].start_ms == original[0].words[2].start_ms
    assert editor.model.rowCount() == len(original) + 1
    editor.select_segment(0)
    window.actions_.merge.trigger()
    assert len(segs) == len(original)
    assert segs[0].text.strip() == original[0].text.strip()
    press_undo(window, qtbot)
    press_undo(window, qtbot)
    assert segs == original


def test_split_at_the_text_cursor_while_typing(qtbot, editor_window):
    _window, editor = editor_window
    editor.edit_segment(3)
    line = editor.table.open_editor()
    assert line is not None
    line.setCursorPosition(len("w3x0 w3x1"))
    assert editor.split_at_cursor()
    segs = editor.transcript.segments
    assert segs[3].text.strip() == "w3x0 w3x1" and segs[4].text.strip() == "w3x2 w3x3"


def test_typing_a_correction_keeps_word_times_and_undoes(qtbot, editor_window):
    window, editor = editor_window
    segs = editor.transcript.segments
    original = segs[2]
    index = editor.model.index(2, COL_TEXT)
    editor.table.setFocus()
    editor.table.setCurrentIndex(index)
    editor.table.edit(index)
    line = editor.table.open_editor()
    line.selectAll()
    QTest.keyClicks(line, "w2x0 hello w2x2 w2x3")
    QTest.keyClick(line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.table.open_editor() is None)  # the delegate commits queued
    assert segs[2].text.strip() == "w2x0 hello w2x2 w2x3"
    assert segs[2].words[0] == original.words[0] and segs[2].words[3] == original.words[3]
    press_undo(window, qtbot)
    assert segs[2] == original


def test_find_and_replace_all_is_one_undo_entry(qtbot, editor_window):
    window, editor = editor_window
    window.actions_.find.trigger()
    bar = editor.find_bar
    assert bar.isVisible()
    QTest.keyClicks(bar.find_edit, "x1")
    QTest.keyClick(bar.find_edit, Qt.Key.Key_Return)
    assert bar.status.text() == "1 of 6"
    assert editor.table.current_row() == 0
    bar.replace_edit.setText("y9")
    qtbot.mouseClick(bar.replace_all_button, Qt.MouseButton.LeftButton)
    segs = editor.transcript.segments
    assert all("y9" in s.text and "x1" not in s.text for s in segs)
    assert editor.undo.stack.count() == 1
    press_undo(window, qtbot)
    assert all("x1" in s.text for s in segs)


def test_replace_one_with_a_regex_group(qtbot, editor_window):
    _window, editor = editor_window
    bar = editor.find_bar
    bar.open()
    bar.regex.setChecked(True)
    bar.find_edit.setText(r"w(\d)x3")
    bar.replace_edit.setText(r"end\1")
    bar.replace_one()
    assert editor.transcript.segments[0].text.strip().endswith("end0")
    assert editor.transcript.segments[1].text.strip().endswith("w1x3")


def test_clicking_a_word_seeks_there(qtbot, editor_window):
    _window, editor = editor_window
    table = editor.table
    index = editor.model.index(4, COL_TEXT)
    rect = table.visualRect(index)
    text = editor.transcript.segments[4].text.strip()
    x = rect.left() + 3 + table.fontMetrics().horizontalAdvance(text[: text.index("w4x2") + 2])
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, rect.center().y()))
    assert editor.timeline.playhead_ms == editor.transcript.segments[4].words[2].start_ms


def test_warnings_have_tooltips_that_say_why(qtbot, make_main_window):
    from dataclasses import replace

    window = make_main_window()
    transcript = synthetic_transcript()
    transcript.segments[1] = replace(transcript.segments[1], flags=frozenset({"low_confidence"}))
    transcript.segments[3] = replace(transcript.segments[3], end_ms=transcript.segments[3].start_ms + 300)
    editor = window.open_transcript(transcript)
    qtbot.waitUntil(lambda: 3 in editor.timeline.warned)  # rules are checked in the background
    tip1 = editor.model.data(editor.model.index(1, COL_TEXT), Qt.ItemDataRole.ToolTipRole)
    tip3 = editor.model.data(editor.model.index(3, COL_TEXT), Qt.ItemDataRole.ToolTipRole)
    assert "confidence" in tip1.lower()
    assert "characters per second" in tip3 or "on screen" in tip3.lower()
    assert editor.model.data(editor.model.index(0, COL_TEXT), Qt.ItemDataRole.ToolTipRole) is None
    assert {1, 3} <= editor.timeline.warned


def test_export_writes_the_expected_srt(qtbot, make_main_window, tmp_path):
    from stenogram.ui.qt_export import QtExportDialog

    window = make_main_window()
    transcript = synthetic_transcript(n=2)
    dialog = QtExportDialog(transcript, window.settings, window)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("srt"))
    dialog.reshape.setChecked(False)
    assert dialog.preview.toPlainText().startswith("1\n00:00:01,000 --> 00:00:02,550\nw0x0 w0x1 w0x2 w0x3")
    out = tmp_path / "out.srt"
    assert dialog.write_to(out)
    assert out.read_text(encoding="utf-8") == (
        "1\n00:00:01,000 --> 00:00:02,550\nw0x0 w0x1 w0x2 w0x3\n\n"
        "2\n00:00:03,050 --> 00:00:04,600\nw1x0 w1x1 w1x2 w1x3\n\n"
    )
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically: nothing left behind


def test_export_reshapes_long_segments_into_readable_cues(qtbot, make_main_window, tmp_path):
    from stenogram.core.formats import read_transcript
    from stenogram.ui.qt_export import QtExportDialog

    window = make_main_window()
    transcript = synthetic_transcript(n=1)
    long_words = tuple(w for s in synthetic_transcript(n=12, gap_ms=0).segments for w in s.words)
    from stenogram.core.transcript import Segment

    transcript.segments[:] = [Segment(long_words[0].start_ms, long_words[-1].end_ms,
                                      "".join(w.text for w in long_words), long_words)]
    dialog = QtExportDialog(transcript, window.settings, window)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("srt"))
    dialog.rules_form.chars.setValue(20)
    out = tmp_path / "shaped.srt"
    assert dialog.write_to(out)
    cues = read_transcript(out).segments
    assert len(cues) > 1
    assert all(len(line) <= 20 for c in cues for line in c.text.split("\n"))


def test_the_current_segment_follows_the_playhead_and_loop_takes_its_span(qtbot, editor_window):
    _window, editor = editor_window
    segs = editor.transcript.segments
    editor.seek(segs[4].start_ms + 200)
    assert editor.table.current_row() == 4
    assert editor.timeline.current == 4
    assert editor.transport.position.text() == "0:" + f"{(segs[4].start_ms + 200) / 1000:06.3f}"
    editor.transport.loop.setChecked(True)
    assert editor.player.loop == (segs[4].start_ms, segs[4].end_ms)
    editor.transport.loop.setChecked(False)
    assert editor.player.loop is None


def test_timeline_zooms_with_keys_and_ctrl_wheel(qtbot, editor_window):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    _window, editor = editor_window
    tl = editor.timeline
    before = tl.pps
    tl.setFocus()
    QTest.keyClick(tl, Qt.Key.Key_Plus)
    assert tl.pps == pytest.approx(before * 1.5)
    tl.horizontalScrollBar().setValue(tl.horizontalScrollBar().maximum() // 2)  # room on both sides
    pos = QPointF(100, 60)
    event = QWheelEvent(pos, tl.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    anchor_ms = tl.ms_at(100)
    QApplication.sendEvent(tl.viewport(), event)
    assert tl.pps < before * 1.5
    assert abs(tl.ms_at(100) - anchor_ms) <= tl.ms_per_px * 2  # zoomed around the pointer
