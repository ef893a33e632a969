"""Where Stenogram keeps its data: models, the library, recordings.

``STENOGRAM_HOME`` overrides the platform's user data folder (tests and portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Stenogram"


def data_dir() -> Path:
    home = os.environ.get("STENOGRAM_HOME")
    path = Path(home) if home else Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    return _subdir("models")


def recordings_dir() -> Path:
    return _subdir("recordings")


def library_path() -> Path:
    return data_dir() / "library.sqlite3"


def _subdir(name: str) -> Path:
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
