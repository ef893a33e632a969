"""Starting the app: the display check, the QApplication, the icon and the main window.

`run_app(argv)` is what `python -m stenogram` calls. Nothing here imports MLX: the model loads
in the worker thread the first time a job runs, after the window is on screen.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from stenogram.core.app_resources import resources_dir

RESOURCES = resources_dir()  # the repository's resources/, or the app bundle's copy
APP_NAME = "Stenogram"
ORG_NAME = "Stenogram"
ORG_DOMAIN = "stenogram.app"

NO_DISPLAY_MESSAGE = """\
Stenogram cannot open its window: there is no display here ($DISPLAY and $WAYLAND_DISPLAY
are not set).

  * To run the app on a virtual screen:   xvfb-run make run
  * To transcribe without a window:       .venv/bin/stenogram transcribe FILE… --format srt
"""


def display_missing(env: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """True on Linux/BSD when no display is reachable and no Qt platform was chosen."""
    env = dict(os.environ) if env is None else env
    if platform == "darwin" or platform.startswith("win"):
        return False
    if env.get("QT_QPA_PLATFORM"):
        return False
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def app_icon():  # -> QIcon; imported lazily so `display_missing` stays Qt-free
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for png in sorted((RESOURCES / "icons").glob("stenogram-*.png")):
        icon.addFile(str(png))
    return icon


def create_application(argv: list[str]):
    """The QApplication (our subclass, which turns Dock/Open With events into a signal)."""
    from PySide6.QtCore import QCoreApplication

    from stenogram.ui.qt_application import QtApplication

    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setOrganizationDomain(ORG_DOMAIN)
    app = QtApplication.instance() or QtApplication(argv)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(app_icon())
    return app


def run_app(argv: list[str]) -> int:
    if display_missing():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr, end="")  # noqa: T201
        return 1
    app = create_application(list(argv))
    from stenogram.ui.main_window import MainWindow
    from stenogram.ui.qt_preferences import apply_appearance
    from stenogram.ui.settings import Settings

    settings = Settings()
    apply_appearance(settings)
    window = MainWindow(settings)
    app.files_opened.connect(window.open_paths)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    for pending in app.take_pending_files():  # Dock drops that came before the window
        window.open_paths([pending])
    paths = [Path(a) for a in argv[1:] if not a.startswith("-")]
    if paths:
        window.open_paths(paths)
    return int(app.exec())
