"""The real window on a real X server (Xvfb, xcb), with screenshots a person can look at.

Screenshots go to $STENOGRAM_SCREENSHOTS when set (kept), else to the test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def xvfb_display(tmp_path):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (make test installs it)")
    for number in range(91, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.skip("Xvfb did not start")
        time.sleep(0.05)
    yield f":{number}"
    proc.terminate()
    proc.wait(5)


def test_real_window_under_xvfb_with_screenshots(xvfb_display, tiny_en, shared_audio, tmp_path, stenogram_home):
    from PySide6.QtGui import QImage

    out = Path(os.environ.get("STENOGRAM_SCREENSHOTS") or tmp_path / "screens")
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", STENOGRAM_HOME=str(stenogram_home),
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run(
        [sys.executable, str(HERE / "xvfb_screens.py"), str(out), str(tiny_en),
         str(shared_audio / "en_two_speakers.flac"), str(shared_audio / "jfk.flac")],
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    names = ["1-queue-running.png", "2-main-window-with-transcript.png", "3-editor-zoomed-in.png",
             "4-library-search.png", "5-export-dialog.png", "6-dark-appearance.png"]
    for name in names:
        image = QImage(str(out / name))
        assert not image.isNull(), name
        assert image.width() >= 600 and image.height() >= 400, name
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
        assert len(colours) > 8, f"{name} looks blank"
