"""Shared fixtures: real recordings from ../shared/audio, an isolated data folder, real models."""

from __future__ import annotations

import csv
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
def stenogram_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty Stenogram data folder (models, library, recordings)."""
    home = tmp_path / "stenogram-home"
    monkeypatch.setenv("STENOGRAM_HOME", str(home))
    return home
