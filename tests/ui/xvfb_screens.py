"""Run by test_app_xvfb.py on a real X server: the real window, a real job, screenshots.

argv: OUT_DIR MODEL_DIR MEDIA... ; exits 0 when every screenshot was written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer


def wait(app, predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.02)
    return False


def shoot(app, widget, path: Path) -> None:
    app.processEvents()
    # The screen's own pixels (what X shows), not a re-render of the widget.
    pixmap = widget.screen().grabWindow(widget.winId())
    pixmap.save(str(path))


def main(argv: list[str]) -> int:
    out, model, media = Path(argv[1]), argv[2], [Path(p) for p in argv[3:]]
    out.mkdir(parents=True, exist_ok=True)
    from stenogram.ui.app import create_application
    from stenogram.ui.main_window import MainWindow
    from stenogram.ui.settings import Settings

    app = create_application(argv[:1])
    window = MainWindow(Settings(out / "settings.ini"))
    window.pickers.options = lambda: {"model": model, "language": "en", "task": "transcribe",
                                      "word_timestamps": True}
    window.resize(1400, 860)
    window.show()
    wait(app, lambda: window.isVisible(), 5)
    jobs = window.open_paths(media)
    wait(app, lambda: any(j.status.name == "RUNNING" for j in window.jobs), 60)
    time.sleep(1.0)
    wait(app, lambda: False, 0.5)
    shoot(app, window, out / "1-queue-running.png")
    if not wait(app, lambda: all(j.status.finished for j in window.jobs), 240):
        print("jobs did not finish", file=sys.stderr)  # noqa: T201
        return 2
    first = window.jobs.get(jobs[0].id)
    window.queue.rows[first.id].open_button.click()
    editor = window.current_editor()
    wait(app, lambda: editor.timeline.peaks is not None, 20)
    editor.select_segment(1 if editor.model.rowCount() > 1 else 0)
    shoot(app, window, out / "2-main-window-with-transcript.png")
    editor.timeline.set_zoom(220, 0)
    editor.timeline.horizontalScrollBar().setValue(int(editor.transcript.segments[0].start_ms / 1000 * 220) - 40)
    editor.find_bar.open()
    editor.find_bar.find_edit.setText("Texas")
    editor.find_bar.find_next()
    wait(app, lambda: False, 0.3)
    shoot(app, window, out / "3-editor-zoomed-in.png")
    window.library.search_edit.setText("Jersey")
    wait(app, lambda: window.library.results.count() > 0, 10)
    shoot(app, window, out / "4-library-search.png")
    from stenogram.ui.qt_export import QtExportDialog

    dialog = QtExportDialog(editor.transcript, window.settings, window)
    dialog.show()
    wait(app, lambda: dialog.isVisible(), 5)
    wait(app, lambda: False, 0.3)
    shoot(app, dialog, out / "5-export-dialog.png")
    dialog.close()
    from stenogram.ui import settings as S
    from stenogram.ui.qt_preferences import apply_appearance

    window.settings.set(S.APPEARANCE, "dark")
    apply_appearance(window.settings)
    wait(app, lambda: False, 0.3)
    shoot(app, window, out / "6-dark-appearance.png")
    QTimer.singleShot(0, window.close)
    wait(app, lambda: False, 0.2)
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
