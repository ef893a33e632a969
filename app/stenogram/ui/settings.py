"""The app's settings, declared once with their types and defaults, stored in QSettings.

Widgets get a `Settings` passed in and read typed values from it; nothing reads QSettings
directly. Tests point QSettings at a temporary file through `Settings(path)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    key: str
    type: type
    default: T
    doc: str


# What the app remembers. One line each; the key is the QSettings path.
DEFAULT_MODEL = Setting("transcribe/model", str, "tiny.en", "model for new jobs")
LANGUAGE = Setting("transcribe/language", str, "", "'' = detect, else an ISO code")
TASK = Setting("transcribe/task", str, "transcribe", "'transcribe' or 'translate'")
WORD_TIMESTAMPS = Setting("transcribe/word_timestamps", bool, True, "word times for the editor")
SPEAKERS = Setting("transcribe/speakers", str, "off", "'off', 'auto' or a number of speakers")
BEAM_SIZE = Setting("transcribe/beam_size", int, 0, "0 = the engine's choice, 1 = greedy, 5 = beam search")
SUB_MAX_CHARS = Setting("subtitles/max_chars_per_line", int, 42, "characters per line")
SUB_MAX_LINES = Setting("subtitles/max_lines", int, 2, "lines per cue")
SUB_MAX_CPS = Setting("subtitles/max_cps", float, 17.0, "characters per second")
SUB_MIN_DURATION_MS = Setting("subtitles/min_duration_ms", int, 833, "shortest cue, ms")
SUB_MAX_DURATION_MS = Setting("subtitles/max_duration_ms", int, 7000, "longest cue, ms")
APPEARANCE = Setting("appearance/scheme", str, "system", "'system', 'light' or 'dark'")
EXPORT_FORMAT = Setting("export/format", str, "srt", "last export format")
EXPORT_DIR = Setting("export/dir", str, "", "last export folder")
NOTIFY_AFTER_S = Setting("jobs/notify_after_s", float, 20.0, "notify when a job took longer")
DICTATION_STOP_ON_PAUSE = Setting("dictation/stop_on_pause", bool, True, "a pause ends dictation")
DICTATION_PASTE = Setting("dictation/paste", bool, False, "paste into the front app (macOS)")

ALL_SETTINGS: tuple[Setting[Any], ...] = (
    DEFAULT_MODEL, LANGUAGE, TASK, WORD_TIMESTAMPS, SPEAKERS, BEAM_SIZE, SUB_MAX_CHARS, SUB_MAX_LINES, SUB_MAX_CPS,
    SUB_MIN_DURATION_MS, SUB_MAX_DURATION_MS, APPEARANCE, EXPORT_FORMAT, EXPORT_DIR,
    NOTIFY_AFTER_S, DICTATION_STOP_ON_PAUSE, DICTATION_PASTE,
)
LANGUAGES = ("", "en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk", "tr", "zh", "ja", "ko", "ar", "hi", "sv")


class Settings:
    """Typed access to QSettings: `settings.get(LANGUAGE)`, `settings.set(LANGUAGE, "de")`."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            self._q = QSettings()
        else:
            self._q = QSettings(str(path), QSettings.Format.IniFormat)

    def get(self, setting: Setting[T]) -> T:
        raw = self._q.value(setting.key, setting.default)
        return _coerce(raw, setting)

    def set(self, setting: Setting[T], value: T) -> None:
        self._q.setValue(setting.key, setting.type(value))
        self._q.sync()


def _coerce(raw: Any, setting: Setting[T]) -> T:
    # INI and plist back-ends hand values back as strings; a bad value falls back to default.
    if setting.type is bool and isinstance(raw, str):
        return raw.lower() in ("1", "true", "yes")  # type: ignore[return-value]
    try:
        return setting.type(raw)  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return setting.default
