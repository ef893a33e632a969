"""Speakers in the app on real widgets: the picker, renaming and setting speakers, colours, export.

The transcripts are built by hand (fast); the real-model check of speakers in every export is
tests/test_speaker_exports.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from app_helpers import synthetic_transcript, wait_for_jobs
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QKeySequence, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from stenogram.ui import settings as S
from stenogram.ui.jobs import JobStatus
from stenogram.ui.qt_segment_model import COL_SPEAKER, COL_TEXT
from stenogram.ui.speaker_palette import PALETTE, SpeakerPalette

NAMES = ("Speaker 1", "Speaker 2", "Speaker 1", "Speaker 1", "Speaker 2", "Speaker 1")


def two_speaker_transcript():
    transcript = synthetic_transcript(n=len(NAMES))
    transcript.segments[:] = [replace(s, speaker=n) for s, n in zip(transcript.segments, NAMES, strict=True)]
    return transcript


@pytest.fixture
def speakers_window(make_main_window):
    window = make_main_window()
    editor = window.open_transcript(two_speaker_transcript())
    window.activateWindow()
    return window, editor


def press_undo(window, qtbot) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    QTest.keySequence(window, QKeySequence(QKeySequence.StandardKey.Undo))


def speakers_of(editor) -> list[str | None]:
    return [s.speaker for s in editor.transcript.segments]


def double_click_cell(qtbot, table, row: int, col: int) -> None:
    rect = table.visualRect(table.model().index(row, col))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # as a user's
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


# -- the picker ----------------------------------------------------------------------------------

def test_speakers_picker_is_remembered_and_reaches_the_job_and_the_engine(
        qtbot, make_main_window, app_settings, app_engine, tiny_en, shared_audio):
    app_settings.set(S.DEFAULT_MODEL, str(tiny_en))  # the real model, from its test folder
    app_settings.set(S.LANGUAGE, "en")
    first = make_main_window(app_engine)
    picker = first.pickers.speakers
    assert picker.currentData() == "off" and first.pickers.options()["speakers"] is False
    picker.setCurrentIndex(picker.findData("auto"))
    assert first.pickers.options()["speakers"] is True and first.pickers.options()["num_speakers"] is None

    window = make_main_window(app_engine)  # a later launch remembers the choice
    assert window.pickers.speakers.currentData() == "auto"
    window.pickers.speakers.setCurrentIndex(window.pickers.speakers.findData("2"))
    [job] = window.open_paths([shared_audio / "jfk.flac"])
    assert job.options["speakers"] is True and job.options["num_speakers"] == 2
    wait_for_jobs(qtbot, window, 1)
    done = window.jobs.get(job.id)
    assert done.status is JobStatus.DONE, done.error
    assert done.transcript.speakers and set(done.transcript.speakers) <= {"Speaker 1", "Speaker 2"}


# -- renaming and setting speakers in the editor ---------------------------------------------

def test_double_click_renames_a_speaker_everywhere_and_ctrl_z_restores(qtbot, speakers_window):
    window, editor = speakers_window
    assert not editor.table.isColumnHidden(COL_SPEAKER)
    assert editor.model.data(editor.model.index(1, COL_SPEAKER)) == "Speaker 2"
    double_click_cell(qtbot, editor.table, 2, COL_SPEAKER)
    dialog = editor.speakers.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.textValue() == "Speaker 1" and "4 segments" in dialog.labelText()
    dialog.setTextValue("Diane")
    dialog.accept()
    assert speakers_of(editor) == [n.replace("Speaker 1", "Diane") for n in NAMES]
    assert editor.model.data(editor.model.index(0, COL_SPEAKER)) == "Diane"  # the table follows
    assert editor.undo.stack.count() == 1  # four segments, one undo entry
    assert editor.speakers.palette.color("Diane") == editor.speakers.palette.color("Speaker 1")
    press_undo(window, qtbot)
    assert speakers_of(editor) == list(NAMES)
    assert editor.model.data(editor.model.index(0, COL_SPEAKER)) == "Speaker 1"


def test_rename_from_the_edit_menu_and_refusals(qtbot, speakers_window):
    window, editor = speakers_window
    editor.select_segment(1)
    assert window.actions_.rename_speaker.isEnabled()
    window.actions_.rename_speaker.trigger()
    dialog = editor.speakers.dialog
    assert dialog.textValue() == "Speaker 2"
    messages = []
    editor.status.connect(messages.append)
    dialog.setTextValue("   ")
    dialog.accept()
    assert speakers_of(editor) == list(NAMES) and editor.undo.stack.count() == 0
    assert "needs a name" in messages[-1]
    # Renaming onto a name in use merges the two speakers; undo splits them again.
    assert editor.speakers.rename("Speaker 2", "Speaker 1")
    assert editor.transcript.speakers == ["Speaker 1"]
    editor.undo.stack.undo()
    assert speakers_of(editor) == list(NAMES)


def test_context_menu_sets_one_segments_speaker_or_a_new_one(qtbot, speakers_window):
    window, editor = speakers_window
    table = editor.table
    table.customContextMenuRequested.emit(table.visualRect(editor.model.index(0, COL_TEXT)).center())
    menu = editor.speakers.menu
    assert menu is not None and menu.isVisible()
    labels = [a.text() for a in menu.actions() if a.text()]
    assert labels[:5] == ["Speaker", "Speaker 1", "Speaker 2", "New Speaker…", "No Speaker"]
    assert labels[-1] == "Rename “Speaker 1”…"
    next(a for a in menu.actions() if a.text() == "Speaker 2").trigger()
    menu.close()
    assert speakers_of(editor) == ["Speaker 2", *NAMES[1:]]
    assert editor.undo.stack.count() == 1

    menu = editor.speakers.context_menu(3)
    next(a for a in menu.actions() if a.text() == "New Speaker…").trigger()
    dialog = editor.speakers.dialog
    assert dialog.textValue() == "Speaker 3"
    dialog.setTextValue("Host")
    dialog.accept()
    assert editor.transcript.segments[3].speaker == "Host"
    assert editor.speakers.palette.color("Host") not in (editor.speakers.palette.color("Speaker 1"),
                                                         editor.speakers.palette.color("Speaker 2"))
    press_undo(window, qtbot)
    press_undo(window, qtbot)
    assert speakers_of(editor) == list(NAMES)


def test_the_speaker_column_appears_when_a_first_speaker_is_set(qtbot, make_main_window):
    window = make_main_window()
    editor = window.open_transcript(synthetic_transcript(n=3))
    assert editor.table.isColumnHidden(COL_SPEAKER)
    editor.table.selectAll()
    menu = editor.speakers.context_menu(1)
    next(a for a in menu.actions() if a.text() == "New Speaker…").trigger()
    editor.speakers.dialog.accept()  # the suggested name
    assert speakers_of(editor) == ["Speaker 1"] * 3 and editor.undo.stack.count() == 1
    assert not editor.table.isColumnHidden(COL_SPEAKER)
    editor.undo.stack.undo()
    assert speakers_of(editor) == [None] * 3 and editor.table.isColumnHidden(COL_SPEAKER)


# -- colours -------------------------------------------------------------------------------------

def _pixel(widget, point: QPoint) -> QColor:
    return widget.grab().toImage().pixelColor(point)


def test_each_speaker_has_its_colour_in_the_table_and_on_the_timeline(qtbot, speakers_window):
    _window, editor = speakers_window
    table, timeline = editor.table, editor.timeline
    editor.table.clearSelection()
    editor.table.setCurrentIndex(editor.model.index(0, COL_TEXT))  # selection paints over cells
    editor.table.clearSelection()
    cells = [table.visualRect(editor.model.index(r, COL_SPEAKER)) for r in range(len(NAMES))]
    # The cell's left edge, clear of the name's text.
    colours = [_pixel(table.viewport(), QPoint(c.left() + 2, c.center().y())).name() for c in cells]
    assert colours[0] == colours[2] == colours[3] and colours[1] == colours[4]
    assert colours[0] != colours[1]
    base = table.palette().color(QPalette.ColorRole.Base).name()
    assert base not in (colours[0], colours[1])

    timeline.fit_all()
    image = timeline.viewport().grab().toImage()
    bottom = timeline.viewport().height() - 3
    for seg in editor.transcript.segments:
        x = round(timeline.x_of((seg.start_ms + seg.end_ms) / 2))
        expected = editor.speakers.palette.color(seg.speaker).name()
        assert image.pixelColor(x, bottom).name() == expected


def test_speaker_cells_keep_text_legible_in_light_and_dark_schemes() -> None:
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    def contrast(a: QColor, b: QColor) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    names = [f"Speaker {i}" for i in range(1, len(PALETTE) + 1)]
    palette = SpeakerPalette(names)
    assert len({palette.color(n).name() for n in names}) == len(PALETTE)  # all different
    for base, text in ((QColor("#ffffff"), QColor("#000000")), (QColor("#1e1e1e"), QColor("#ffffff"))):
        cells = [palette.cell_color(n, base) for n in names]
        assert all(contrast(c, text) >= 4.5 for c in cells), [c.name() for c in cells]
        assert all(c != base for c in cells)


# -- export --------------------------------------------------------------------------------------

def test_export_speakers_checkbox_changes_the_srt_written(qtbot, make_main_window, tmp_path: Path):
    from stenogram.ui.qt_export import QtExportDialog

    window = make_main_window()
    dialog = QtExportDialog(two_speaker_transcript(), window.settings, window)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("srt"))
    assert dialog.speakers.isChecked() and dialog.speakers.isEnabled()
    assert "Speaker 1: w0x0" in dialog.preview.toPlainText()
    with_names, without = tmp_path / "with.srt", tmp_path / "without.srt"
    assert dialog.write_to(with_names)
    dialog.speakers.setChecked(False)
    assert "Speaker" not in dialog.preview.toPlainText()
    assert dialog.write_to(without)
    # Re-shaped cues (the default): segments 3 and 4, one speaker, share a cue; no cue mixes two.
    cues = [block.split("\n")[2] for block in with_names.read_text(encoding="utf-8").strip().split("\n\n")]
    assert [c.split(": ")[0] for c in cues] == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2", "Speaker 1"]
    assert cues[1].startswith("Speaker 2: w1x0") and cues[2].startswith("Speaker 1: w2x0")
    assert "Speaker" not in without.read_text(encoding="utf-8")
    assert without.read_text(encoding="utf-8").count("w0x0") == 1

    plain = QtExportDialog(synthetic_transcript(n=2), window.settings, window)
    qtbot.addWidget(plain)
    assert not plain.speakers.isChecked() and not plain.speakers.isEnabled()
