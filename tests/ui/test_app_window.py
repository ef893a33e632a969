"""The window's other duties: no-display message, Dock/Open With, library search, models,
preferences, video with its cue, and a window that starts without the engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from app_helpers import synthetic_transcript
from PySide6.QtCore import QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[2]


def test_no_display_says_how_to_run_instead_of_a_qt_trace(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["STENOGRAM_HOME"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "stenogram"], env=env, capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 1
    assert "xvfb-run make run" in result.stderr
    assert "stenogram transcribe" in result.stderr
    assert "Traceback" not in result.stderr and "qt.qpa" not in result.stderr


def test_the_window_starts_without_loading_the_engine(tmp_path):
    code = ("import sys; from stenogram.ui.app import create_application; app = create_application(['x']);"
            "from stenogram.ui.main_window import MainWindow; from stenogram.ui.settings import Settings;"
            f"w = MainWindow(Settings({str(tmp_path / 's.ini')!r})); w.show(); app.processEvents();"
            "print(sorted(m for m in ('mlx', 'mlx_whisper', 'stenogram.core.engine') if m in sys.modules))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STENOGRAM_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_dock_and_open_with_deliver_files_to_the_window(qtbot, make_main_window, tmp_path):
    srt = tmp_path / "talk.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\nHello from a subtitle file.\n\n", encoding="utf-8")
    window = make_main_window()
    app = QApplication.instance()
    app.files_opened.connect(window.open_paths)
    app.take_pending_files()
    QApplication.sendEvent(app, QFileOpenEvent(QUrl.fromLocalFile(str(srt))))
    editor = window.current_editor()
    assert editor is not None
    assert editor.transcript.segments[0].text.strip() == "Hello from a subtitle file."
    app.files_opened.disconnect(window.open_paths)


def test_a_library_search_hit_opens_the_transcript_at_that_moment(qtbot, make_main_window):
    from stenogram.ui import library_access

    transcript = synthetic_transcript(n=8, media_path="/nowhere/interview.m4a")
    transcript_id = library_access.save_transcript(transcript)
    window = make_main_window()
    window.library.search_edit.setText("w5x2")
    qtbot.waitUntil(lambda: window.library.results.count() == 1, timeout=5000)
    item = window.library.results.item(0)
    assert "interview.m4a" in item.text()
    window.library.results.itemClicked.emit(item)
    editor = window.current_editor()
    assert editor.transcript_id == transcript_id
    assert editor.table.current_row() == 5
    assert editor.timeline.playhead_ms == transcript.segments[5].words[2].start_ms
    assert "not there any more" in editor.media_message.text()


def test_edits_are_saved_to_the_library_as_they_happen(qtbot, make_main_window):
    from stenogram.core.edits import ChangeText
    from stenogram.ui import library_access

    transcript_id = library_access.save_transcript(synthetic_transcript())
    window = make_main_window()
    window.open_from_library(transcript_id, None)
    editor = window.current_editor()
    editor.undo.push(ChangeText(1, " an edit that must survive"))
    qtbot.waitUntil(lambda: library_access.load_transcript(transcript_id).segments[1].text
                    == " an edit that must survive", timeout=3000)


def test_models_window_lists_imports_and_removes(qtbot, make_main_window, tiny_en):
    from stenogram.ui.qt_models import QtModelsWindow

    window = make_main_window()
    models = QtModelsWindow(window.worker, window)
    qtbot.addWidget(models)
    assert models.installed.rowCount() == 0
    names = [models.available.item(r, 0).text() for r in range(models.available.rowCount())]
    assert "large-v3-turbo" in names and "tiny.en" in names
    task = models.import_folder(tiny_en)
    with qtbot.waitSignal(task.finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: models.installed.rowCount() == 1)
    assert models.installed.item(0, 0).text() == "tiny.en"
    assert models.installed.item(0, 1).text().endswith("MB")
    assert models.installed.item(0, 2).text() == "English"
    models.installed.selectRow(0)
    models.remove_selected()
    assert models.installed.rowCount() == 0


def test_preferences_are_kept_with_their_types(qtbot, make_main_window):
    from stenogram.ui import settings as S
    from stenogram.ui.qt_preferences import QtPreferences

    window = make_main_window()
    prefs = QtPreferences(window.settings, window)
    qtbot.addWidget(prefs)
    prefs.language.setCurrentIndex(prefs.language.findData("de"))
    prefs.rules.chars.setValue(37)
    prefs.rules.cps.setValue(15.5)
    prefs.appearance.setCurrentIndex(prefs.appearance.findData("dark"))
    prefs.accept()
    assert window.settings.get(S.LANGUAGE) == "de"
    assert window.settings.get(S.SUB_MAX_CHARS) == 37
    assert window.settings.get(S.SUB_MAX_CPS) == 15.5
    assert window.subtitle_rules().max_chars_per_line == 37
    from PySide6.QtGui import QPalette

    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 100  # dark
    window.settings.set(S.APPEARANCE, "system")
    from stenogram.ui.qt_preferences import apply_appearance

    apply_appearance(window.settings)


def test_a_video_shows_its_picture_with_the_current_cue(qtbot, make_main_window, tmp_path):
    from mediagen import write_video

    clip = write_video(tmp_path / "clip.mp4", np.zeros(16000 * 9, dtype=np.float32), 16000, "mp4")
    window = make_main_window()
    transcript = synthetic_transcript(n=3, media_path=str(clip))
    editor = window.open_transcript(transcript)
    qtbot.waitUntil(lambda: editor.video is not None, timeout=10_000)
    editor.seek(transcript.segments[1].start_ms + 100)
    assert editor.video.cue.text() == transcript.segments[1].text.strip()
    editor.seek(transcript.segments[1].end_ms + 100)  # in the gap: no cue
    assert editor.video.cue.text() == ""


def test_decoding_preference_reaches_the_jobs_options(qtbot, make_main_window):
    from stenogram.ui import settings as S
    from stenogram.ui.qt_preferences import QtPreferences

    window = make_main_window()
    assert window.settings.get(S.BEAM_SIZE) == 0  # the engine chooses by default
    prefs = QtPreferences(window.settings, window)
    qtbot.addWidget(prefs)
    prefs.decoding.setCurrentIndex(prefs.decoding.findData(5))
    prefs.accept()
    assert window.settings.get(S.BEAM_SIZE) == 5
    assert window.pickers.options()["beam_size"] == 5
    window.settings.set(S.BEAM_SIZE, 0)
    assert window.pickers.options()["beam_size"] is None
