"""The export dialog: format, subtitle rules, a preview of the first cues, an atomic write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from stenogram.core.formats import FORMATS, render, write_transcript
from stenogram.core.subtitles import SubtitleRules, cues_to_transcript, shape
from stenogram.ui import settings as S
from stenogram.ui.opening import rules_from_settings
from stenogram.ui.settings import Settings

SUBTITLE_FORMATS = ("srt", "vtt", "ass", "ssa")
PREVIEW_LINES = 40


def _spin(low: float, high: float, value: float, step: float = 1, decimals: int = 0):
    box = QDoubleSpinBox() if decimals else QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    if decimals:
        box.setDecimals(decimals)
    box.setValue(value)
    return box


class QtRulesForm(QGroupBox):
    """The subtitle rules as spin boxes (used by Export and Preferences)."""

    def __init__(self, rules: SubtitleRules, title: str = "Subtitle rules", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.chars = _spin(10, 200, rules.max_chars_per_line)
        self.lines = _spin(1, 5, rules.max_lines)
        self.cps = _spin(5, 60, rules.max_cps, 0.5, 1)
        self.min_s = _spin(0.1, 10, rules.min_duration_ms / 1000, 0.1, 3)
        self.max_s = _spin(1, 60, rules.max_duration_ms / 1000, 0.5, 2)
        form = QFormLayout(self)
        for label, box in (("Characters per line", self.chars), ("Lines per cue", self.lines),
                           ("Characters per second", self.cps), ("Shortest cue (s)", self.min_s),
                           ("Longest cue (s)", self.max_s)):
            box.setAccessibleName(label)
            form.addRow(label, box)

    def rules(self) -> SubtitleRules:
        return SubtitleRules(max_chars_per_line=int(self.chars.value()), max_lines=int(self.lines.value()),
                             max_cps=float(self.cps.value()), min_duration_ms=round(self.min_s.value() * 1000),
                             max_duration_ms=round(self.max_s.value() * 1000))

    def save(self, settings: Settings) -> None:
        r = self.rules()
        settings.set(S.SUB_MAX_CHARS, r.max_chars_per_line)
        settings.set(S.SUB_MAX_LINES, r.max_lines)
        settings.set(S.SUB_MAX_CPS, r.max_cps)
        settings.set(S.SUB_MIN_DURATION_MS, r.min_duration_ms)
        settings.set(S.SUB_MAX_DURATION_MS, r.max_duration_ms)

    def connect_changed(self, slot) -> None:
        for box in (self.chars, self.lines, self.cps, self.min_s, self.max_s):
            box.valueChanged.connect(slot)


class QtExportDialog(QDialog):
    def __init__(self, transcript: Any, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.transcript = transcript
        self.settings = settings
        self.format = QComboBox()
        self.format.setAccessibleName("Format")
        for name, writer in FORMATS.items():
            self.format.addItem(f"{writer.description} (.{name})", name)
        self.format.setCurrentIndex(max(0, self.format.findData(settings.get(S.EXPORT_FORMAT))))
        self.reshape = QCheckBox("Re-shape into readable cues (uses word timings)")
        self.reshape.setChecked(True)
        self.speakers = QCheckBox("Include speakers")
        self.speakers.setAccessibleName("Include speakers")
        self.speakers.setChecked(bool(transcript.speakers))  # on when the transcript has speakers
        self.timestamps = QCheckBox("Include timestamps")
        self.rules_form = QtRulesForm(rules_from_settings(settings))
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setAccessibleName("Preview")
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.message = QLabel()
        self.message.setWordWrap(True)
        copy = QPushButton("Copy All Text")
        copy.clicked.connect(self.copy_text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.choose_and_write)
        buttons.rejected.connect(self.reject)
        left = QVBoxLayout()
        form = QFormLayout()
        form.addRow("Format", self.format)
        left.addLayout(form)
        for w in (self.reshape, self.speakers, self.timestamps, self.rules_form):
            left.addWidget(w)
        left.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.preview, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(880, 520)
        for signal in (self.format.currentIndexChanged, self.reshape.toggled, self.speakers.toggled,
                       self.timestamps.toggled):
            signal.connect(self.update_preview)
        self.rules_form.connect_changed(self.update_preview)
        self.update_preview()

    @property
    def fmt(self) -> str:
        return self.format.currentData()

    def _content(self) -> Any:
        """The transcript to write: re-shaped into cues for subtitle formats when asked."""
        if self.fmt in SUBTITLE_FORMATS and self.reshape.isChecked() and any(s.words for s in self.transcript.segments):
            return cues_to_transcript(shape(self.transcript, self.rules_form.rules()), like=self.transcript)
        return self.transcript

    def _options(self) -> dict[str, Any]:
        return {"speakers": self.speakers.isChecked(), "timestamps": self.timestamps.isChecked()}

    def update_preview(self) -> None:
        subtitle = self.fmt in SUBTITLE_FORMATS
        self.reshape.setEnabled(subtitle)
        self.rules_form.setEnabled(subtitle and self.reshape.isChecked())
        self.timestamps.setEnabled(self.fmt == "txt")
        # ASS/SSA keep speakers in their Name field and JSON keeps everything: nothing to choose.
        self.speakers.setEnabled(bool(self.transcript.speakers) and "speakers" in FORMATS[self.fmt].options)
        try:
            text = render(self._content(), self.fmt, **self._options())
        except ValueError as exc:
            self.message.setText(str(exc))
            return
        self.message.clear()
        self.preview.setPlainText("\n".join(text.splitlines()[:PREVIEW_LINES]))

    def default_path(self) -> Path:
        folder = Path(self.settings.get(S.EXPORT_DIR) or Path.home())
        media = self.transcript.media_path
        stem = Path(media).stem if media else "transcript"
        return folder / f"{stem}.{self.fmt}"

    def choose_and_write(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", str(self.default_path()))
        if path and self.write_to(Path(path)):
            self.accept()

    def write_to(self, path: Path) -> bool:
        """Write atomically (the save dialog already asked about replacing a file)."""
        try:
            write_transcript(self._content(), path, self.fmt, overwrite=True, **self._options())
        except (OSError, ValueError) as exc:
            self.message.setText(f"Could not write “{path.name}”: {getattr(exc, 'user_message', None) or exc}")
            return False
        self.settings.set(S.EXPORT_FORMAT, self.fmt)
        self.settings.set(S.EXPORT_DIR, str(path.parent))
        self.rules_form.save(self.settings)
        self.message.setText(f"Wrote {path}")
        return True

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(render(self.transcript, "txt", speakers=self.speakers.isChecked()))
        self.message.setText("All text copied to the clipboard.")
