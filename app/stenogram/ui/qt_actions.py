"""The menu bar: every command once, with standard keys and macOS menu roles.

On macOS, Qt moves About, Settings… and Quit into the application menu by their MenuRole; the
standard QKeySequence keys become ⌘O, ⌘S, ⌘F, ⌘Z, ⇧⌘Z there and Ctrl+… elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

Keys = QKeySequence.StandardKey


def _action(menu: QMenu, text: str, slot: Callable, shortcut=None, role=None, checkable=False) -> QAction:
    action = QAction(text, menu)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
    if role is not None:
        action.setMenuRole(role)
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(w: QMainWindow) -> SimpleNamespace:
    """Menus for the main window `w`, whose methods the actions call."""
    bar = w.menuBar()
    Role = QAction.MenuRole
    a = SimpleNamespace()

    file = bar.addMenu("&File")
    a.open = _action(file, "&Open…", w.choose_files, Keys.Open)
    a.record = _action(file, "New &Recording…", w.show_record_panel, "Ctrl+R")
    # Dictation works from every window of the app (⌥⌘D on macOS), so the key starts and stops it.
    a.dictate = _action(file, "&Dictate", lambda: w.voice_windows.toggle_dictation(), "Ctrl+Alt+D")
    a.dictate.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    a.live = _action(file, "&Live Transcription…", lambda: w.voice_windows.show_live(), "Ctrl+Shift+L")
    a.save = _action(file, "&Save", w.save_current, Keys.Save)
    a.export = _action(file, "&Export…", w.export_current, "Ctrl+E")
    a.copy_text = _action(file, "Copy All Text", w.copy_all_text, "Ctrl+Shift+C")
    file.addSeparator()
    a.close_tab = _action(file, "&Close Transcript", w.close_current, Keys.Close)
    a.settings = _action(file, "Settings…", w.show_preferences, Keys.Preferences, Role.PreferencesRole)
    a.quit = _action(file, "&Quit", w.close, Keys.Quit, Role.QuitRole)

    edit = bar.addMenu("&Edit")
    a.undo = w.undo_group.createUndoAction(w, "&Undo")
    a.undo.setShortcut(Keys.Undo)
    a.redo = w.undo_group.createRedoAction(w, "&Redo")
    a.redo.setShortcuts([QKeySequence(Keys.Redo), QKeySequence("Ctrl+Shift+Z")])
    edit.addAction(a.undo)
    edit.addAction(a.redo)
    edit.addSeparator()
    a.find = _action(edit, "&Find and Replace…", lambda: w.on_editor("find_bar").open(), Keys.Find)
    edit.addSeparator()
    a.split = _action(edit, "S&plit at Cursor", lambda: w.on_editor("split_at_cursor")(), "Ctrl+Shift+S")
    a.merge = _action(edit, "&Merge with Next", lambda: w.on_editor("merge_with_next")(), "Ctrl+Shift+M")
    a.insert = _action(edit, "&Insert Segment", lambda: w.on_editor("insert_segment")(), "Ctrl+Shift+I")
    a.delete = _action(edit, "&Delete Segment", lambda: w.on_editor("delete_segments")(), "Ctrl+Backspace")
    a.shift = _action(edit, "S&hift Times…", lambda: w.on_editor("shift_times")(), "Ctrl+Shift+T")
    a.rename_speaker = _action(edit, "Rename Spea&ker…", lambda: w.on_editor("speakers").ask_rename_current())

    view = bar.addMenu("&View")
    a.zoom_in = _action(view, "Zoom &In", lambda: w.on_editor("timeline").zoom_by(1.5), Keys.ZoomIn)
    a.zoom_out = _action(view, "Zoom &Out", lambda: w.on_editor("timeline").zoom_by(1 / 1.5), Keys.ZoomOut)
    a.zoom_fit = _action(view, "Show &Whole Timeline", lambda: w.on_editor("timeline").fit_all(), "Ctrl+0")

    play = bar.addMenu("&Playback")
    a.play = _action(play, "&Play/Pause", lambda: w.on_editor("player").toggle(), "Ctrl+Space")
    a.loop = _action(play, "&Loop Current Segment", lambda on: w.on_editor("toggle_loop")(on), "Ctrl+L",
                     checkable=True)
    speed = play.addMenu("&Speed")
    for rate in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
        _action(speed, f"{rate:g}×", lambda _=False, r=rate: w.on_editor("player").set_speed(r))

    tools = bar.addMenu("&Tools")
    a.models = _action(tools, "&Models…", w.show_models)

    help_menu = bar.addMenu("&Help")
    a.about = _action(help_menu, "&About Stenogram", w.show_about, role=Role.AboutRole)
    a.editor_actions = [a.save, a.export, a.copy_text, a.close_tab, a.find, a.split, a.merge,
                        a.insert, a.delete, a.shift, a.rename_speaker, a.zoom_in, a.zoom_out, a.zoom_fit,
                        a.play, a.loop]
    return a
