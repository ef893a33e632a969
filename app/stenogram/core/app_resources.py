"""Where the files in the project's ``resources/`` folder are, from source or from the app bundle.

From a checkout they sit at the top of the repository. In the PyInstaller bundle
(``packaging/stenogram.spec``) they are collected to ``resources/`` inside the bundle's data
folder, ``sys._MEIPASS`` (``_internal/`` on Linux, ``Contents/Frameworks`` in a macOS .app).
"""

from __future__ import annotations

import sys
from pathlib import Path

SELF_TEST_CLIP = ("self_test", "self_test.flac")  # made by resources/self_test/make_clip.sh


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def resources_dir() -> Path:
    if is_frozen():
        return Path(sys._MEIPASS) / "resources"
    return Path(__file__).resolve().parents[3] / "resources"  # app/stenogram/core → repo root


def resource(*parts: str) -> Path:
    """A file under ``resources/`` (which may not exist: callers say what is missing)."""
    return resources_dir().joinpath(*parts)
