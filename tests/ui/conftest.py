"""Fixtures for the app's widget tests: real windows, real worker threads, real engine."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# tests/ holds shared helpers (mediagen); it is on sys.path only when its own tests ran first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture(scope="session")
def app_engine():
    """One engine process for the whole session, so the model stays warm between tests."""
    from stenogram.ui.engine_process import EngineProcess

    engine = EngineProcess()
    yield engine
    engine.close()


@pytest.fixture
def app_settings(tmp_path: Path):
    from stenogram.ui.settings import Settings

    return Settings(tmp_path / "settings.ini")


@pytest.fixture
def make_main_window(qtbot, app_settings, stenogram_home) -> Iterator[Callable[..., object]]:
    """Builds MainWindows (shown), and shuts each down after the test."""
    from stenogram.ui import library_access
    from stenogram.ui.main_window import MainWindow

    windows = []

    def make(transcriber=None, show: bool = True, **kw):
        factory = (lambda: transcriber) if transcriber is not None else None
        window = MainWindow(app_settings, transcriber_factory=factory, **kw)
        qtbot.addWidget(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
    library_access.reset()


@pytest.fixture
def tiny_options(tiny_en: Path) -> dict:
    """Job options that run the real tiny.en model from its test folder."""
    return {"model": str(tiny_en), "language": "en", "task": "transcribe", "word_timestamps": True}
