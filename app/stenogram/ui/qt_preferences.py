"""Preferences: default model and language, subtitle rules, appearance. All in Settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QVBoxLayout,
    QWidget,
)

from stenogram.ui import settings as S
from stenogram.ui.opening import installed_model_names, rules_from_settings
from stenogram.ui.qt_export import QtRulesForm
from stenogram.ui.qt_pickers import language_name
from stenogram.ui.settings import LANGUAGES, Settings

APPEARANCES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


def apply_appearance(settings: Settings) -> None:
    """Light, dark, or whatever the system uses (Qt follows macOS/GNOME changes live then).

    Where the platform cannot switch schemes (plain X11, offscreen), a palette does it."""
    from PySide6.QtWidgets import QApplication

    hints = QGuiApplication.styleHints()
    scheme = settings.get(S.APPEARANCE)
    wanted = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}.get(scheme)
    if wanted is None:
        hints.unsetColorScheme()
    else:
        hints.setColorScheme(wanted)
    app = QApplication.instance()
    if wanted is Qt.ColorScheme.Dark and hints.colorScheme() != wanted:
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())


def dark_palette() -> QPalette:
    p = QPalette()
    R = QPalette.ColorRole
    for role, rgb in ((R.Window, (45, 45, 48)), (R.WindowText, (230, 230, 230)), (R.Base, (30, 30, 32)),
                      (R.AlternateBase, (40, 40, 44)), (R.Text, (230, 230, 230)), (R.Button, (55, 55, 60)),
                      (R.ButtonText, (230, 230, 230)), (R.Highlight, (64, 110, 200)),
                      (R.HighlightedText, (255, 255, 255)), (R.ToolTipBase, (60, 60, 64)),
                      (R.ToolTipText, (230, 230, 230)), (R.PlaceholderText, (140, 140, 140)),
                      (R.Mid, (120, 120, 120)), (R.Link, (120, 170, 255))):
        p.setColor(role, QColor(*rgb))
    p.setColor(QPalette.ColorGroup.Disabled, R.Text, QColor(120, 120, 120))
    p.setColor(QPalette.ColorGroup.Disabled, R.WindowText, QColor(120, 120, 120))
    p.setColor(QPalette.ColorGroup.Disabled, R.ButtonText, QColor(120, 120, 120))
    return p


# Beam size for new jobs: 0 lets the engine choose (greedy on a CPU, beam 5 on a Mac's GPU).
DECODING_CHOICES = (
    (0, "Automatic"),
    (1, "Fastest (greedy)"),
    (5, "Most accurate (beam search, 5 beams)"),
)


class QtPreferences(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.model = QComboBox()
        self.model.setAccessibleName("Default model")
        names = installed_model_names()
        current = settings.get(S.DEFAULT_MODEL)
        for name in dict.fromkeys([*names, current]):
            self.model.addItem(name, name)
        self.model.setCurrentIndex(max(0, self.model.findData(current)))
        self.language = QComboBox()
        self.language.setAccessibleName("Default language")
        for code in LANGUAGES:
            self.language.addItem(language_name(code), code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.get(S.LANGUAGE))))
        self.words = QCheckBox("Word timings (for clicking words and re-shaping subtitles)")
        self.words.setChecked(settings.get(S.WORD_TIMESTAMPS))
        self.decoding = QComboBox()
        self.decoding.setAccessibleName("Decoding")
        self.decoding.setToolTip("Beam search finds better words where greedy decoding errs, at some cost in speed")
        for value, label in DECODING_CHOICES:
            self.decoding.addItem(label, value)
        self.decoding.setCurrentIndex(max(0, self.decoding.findData(settings.get(S.BEAM_SIZE))))
        self.appearance = QComboBox()
        self.appearance.setAccessibleName("Appearance")
        for value, label in APPEARANCES:
            self.appearance.addItem(label, value)
        self.appearance.setCurrentIndex(max(0, self.appearance.findData(settings.get(S.APPEARANCE))))
        self.rules = QtRulesForm(rules_from_settings(settings))
        form = QFormLayout()
        form.addRow("Default model", self.model)
        form.addRow("Language", self.language)
        form.addRow("", self.words)
        form.addRow("Decoding", self.decoding)
        form.addRow("Appearance", self.appearance)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.rules)
        layout.addWidget(buttons)

    def accept(self) -> None:
        self.settings.set(S.DEFAULT_MODEL, self.model.currentData())
        self.settings.set(S.LANGUAGE, self.language.currentData())
        self.settings.set(S.WORD_TIMESTAMPS, self.words.isChecked())
        self.settings.set(S.BEAM_SIZE, self.decoding.currentData())
        self.settings.set(S.APPEARANCE, self.appearance.currentData())
        self.rules.save(self.settings)
        apply_appearance(self.settings)
        super().accept()
