"""Shared fixtures: real recordings from ../shared/audio, an isolated data folder, real models."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_AUDIO = REPO.parent / "shared" / "audio"


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    """The folder of real recordings; tests that need it skip where ../shared is absent."""
    if not (SHARED_AUDIO / "refs.tsv").is_file():
        pytest.skip(f"real recordings not found at {SHARED_AUDIO} (../shared is absent)")
    return SHARED_AUDIO


@pytest.fixture(scope="session")
def references(shared_audio: Path) -> dict[str, dict[str, str]]:
    """refs.tsv as {file name: row}."""
    with open(shared_audio / "refs.tsv", newline="", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test gets its own Stenogram data folder unless it asks for the shared store."""
    if "STENOGRAM_HOME" not in os.environ or os.environ.get("STENOGRAM_TEST_OWN_HOME"):
        monkeypatch.setenv("STENOGRAM_HOME", str(tmp_path_factory.mktemp("home")))
        monkeypatch.setenv("STENOGRAM_TEST_OWN_HOME", "1")
    yield
