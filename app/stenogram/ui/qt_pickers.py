"""Model, language, task and speakers for new jobs, chosen in the window and remembered in Settings."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QWidget

from stenogram.ui import settings as S
from stenogram.ui.settings import LANGUAGES, Settings

TASK_LABELS = (("transcribe", "Transcribe"), ("translate", "Translate to English"))
MAX_SPEAKERS_CHOICE = 8  # the picker offers "2 speakers" … this many; the engine takes any count
SPEAKER_LABELS = (("off", "Off"), ("auto", "Automatic"),
                  *((str(n), f"{n} speakers") for n in range(2, MAX_SPEAKERS_CHOICE + 1)))


def speaker_options(choice: str) -> dict[str, Any]:
    """The engine's `speakers`/`num_speakers` for a picker value ('off', 'auto' or a count)."""
    if choice == "auto":
        return {"speakers": True, "num_speakers": None}
    if choice.isdigit() and int(choice) >= 1:
        return {"speakers": True, "num_speakers": int(choice)}
    return {"speakers": False, "num_speakers": None}


def language_name(code: str) -> str:
    if not code:
        return "Detect automatically"
    from PySide6.QtCore import QLocale

    name = QLocale(code).nativeLanguageName()
    return f"{name} ({code})" if name else code


class QtPickers(QWidget):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.model = QComboBox()
        self.model.setEditable(False)
        self.model.setAccessibleName("Model")
        self.language = QComboBox()
        self.language.setAccessibleName("Language")
        for code in LANGUAGES:
            self.language.addItem(language_name(code), code)
        self.task = QComboBox()
        self.task.setAccessibleName("Task")
        for value, label in TASK_LABELS:
            self.task.addItem(label, value)
        self.speakers = QComboBox()
        self.speakers.setAccessibleName("Speakers")
        self.speakers.setToolTip("Label who spoke when (interviews, meetings)")
        for value, label in SPEAKER_LABELS:
            self.speakers.addItem(label, value)
        layout = QFormLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addRow("Model", self.model)
        layout.addRow("Language", self.language)
        layout.addRow("Task", self.task)
        layout.addRow("Speakers", self.speakers)
        self.set_models([settings.get(S.DEFAULT_MODEL)])
        self._select(self.language, settings.get(S.LANGUAGE))
        self._select(self.task, settings.get(S.TASK))
        self._select(self.speakers, settings.get(S.SPEAKERS))
        self.model.currentIndexChanged.connect(
            lambda: self.settings.set(S.DEFAULT_MODEL, self.model.currentData() or ""))
        self.language.currentIndexChanged.connect(
            lambda: self.settings.set(S.LANGUAGE, self.language.currentData() or ""))
        self.task.currentIndexChanged.connect(
            lambda: self.settings.set(S.TASK, self.task.currentData()))
        self.speakers.currentIndexChanged.connect(
            lambda: self.settings.set(S.SPEAKERS, self.speakers.currentData()))

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        i = combo.findData(value)
        if i >= 0:
            combo.setCurrentIndex(i)

    def set_models(self, names: list[str]) -> None:
        """Fill the model list (installed models); the remembered choice stays selected."""
        wanted = self.settings.get(S.DEFAULT_MODEL)
        self.model.blockSignals(True)
        self.model.clear()
        for name in dict.fromkeys([*names, wanted] if wanted else names):
            self.model.addItem(name, name)
        self._select(self.model, wanted)
        self.model.blockSignals(False)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for the engine's TranscribeOptions."""
        return {
            "model": self.model.currentData() or self.settings.get(S.DEFAULT_MODEL),
            "language": self.language.currentData() or None,
            "task": self.task.currentData(),
            "word_timestamps": self.settings.get(S.WORD_TIMESTAMPS),
            "beam_size": self.settings.get(S.BEAM_SIZE) or None,
            **speaker_options(self.speakers.currentData() or "off"),
        }
