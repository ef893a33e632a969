"""The dictation window: press the shortcut, speak, pause — the words are on the clipboard.

The listening, the pause detection (VAD) and the transcription run in the voice process
(``QtVoice``); this window shows the level and the text, puts the text on the clipboard,
optionally pastes it into the front app (macOS), and keeps each dictation in the library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stenogram.ui import settings as S
from stenogram.ui.qt_clipboard import QtClipboard
from stenogram.ui.qt_level_meter import QtLevelMeter
from stenogram.ui.qt_voice import QtVoice
from stenogram.ui.qt_voice_common import FinishesOnClose, keep_in_library
from stenogram.ui.qt_worker import IO_LANE, QtWorker
from stenogram.ui.settings import Settings
from stenogram.ui.voice_messages import (
    DictationDone,
    Level,
    Problem,
    SpeechEnded,
    SpeechStarted,
    Started,
)

log = logging.getLogger(__name__)

DICTATION_KEYS = "Ctrl+Alt+D"  # ⌥⌘D on macOS (Qt maps Ctrl to ⌘ there)
TITLE_WORDS = 6  # words of the text in a dictation's library title
NOTHING_HEARD = "Didn't hear anything."


def shortcut_text() -> str:
    return QKeySequence(DICTATION_KEYS).toString(QKeySequence.SequenceFormat.NativeText)


def dictation_title(text: str, when: datetime | None = None) -> str:
    """'Dictation 2026-11-26 09:41 – In every way they sought to…'"""
    words = text.split()
    head = " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")
    return f"Dictation {(when or datetime.now()):%Y-%m-%d %H:%M} – {head}"


class QtDictationWindow(FinishesOnClose, QWidget):
    dictated = Signal(object)  # DictationDone, with or without text
    saved = Signal(object)  # the library id of a kept dictation
    state_changed = Signal(str)  # "idle", "starting", "listening", "transcribing"

    def __init__(self, voice: QtVoice, worker: QtWorker, settings: Settings,
                 options: Callable[[], dict[str, Any]], parent: QWidget | None = None,
                 clipboard: Any = None) -> None:  # fmt: skip
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Dictation")
        self.voice = voice
        self.worker = worker
        self.settings = settings
        self._options = options
        self.clipboard = clipboard or QtClipboard()
        self.session: int | None = None
        self.state = "idle"
        self.last: DictationDone | None = None
        self._closing = False
        self._build()
        self.voice.message.connect(self._on_message)
        self._set_state("idle")
        self.resize(440, 300)

    def _build(self) -> None:
        self.status = QLabel()
        self.status.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.status.setAccessibleName("Dictation status")
        self.meter = QtLevelMeter()
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setPlaceholderText("Your words appear here, and on the clipboard.")
        self.text.setAccessibleName("Dictated text")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        self.start_button = QPushButton()
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.toggle)
        self.copy_button = QPushButton("Copy Again")
        self.copy_button.clicked.connect(self.copy_again)
        self.stop_on_pause = QCheckBox("Stop when I pause")
        self.stop_on_pause.setChecked(self.settings.get(S.DICTATION_STOP_ON_PAUSE))
        self.stop_on_pause.toggled.connect(lambda on: self.settings.set(S.DICTATION_STOP_ON_PAUSE, on))
        self.paste = QCheckBox("Paste into the app in front (macOS)")
        self.paste.setChecked(self.settings.get(S.DICTATION_PASTE))
        self.paste.toggled.connect(lambda on: self.settings.set(S.DICTATION_PASTE, on))
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        choices = QHBoxLayout()
        choices.addWidget(self.stop_on_pause)
        choices.addWidget(self.paste)
        choices.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.meter)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        layout.addLayout(choices)

    # -- commands ----------------------------------------------------------------------------
    def toggle(self) -> None:
        """The shortcut and the button: start listening, or stop and transcribe."""
        if self.state == "idle":
            self.start()
        elif self.state in ("starting", "listening"):
            self.stop()

    def start(self, device: int | str | None = None) -> None:
        if self.state != "idle":
            return
        self.meter.reset()
        self.note.clear()
        from stenogram.core.paths import recordings_dir

        # The app names the folder, so the voice process and the recovery check always agree.
        self.session = self.voice.start_dictation(
            self.dictation_options(), device=device, directory=recordings_dir(),
            stop_on_silence=self.stop_on_pause.isChecked(),
        )  # fmt: skip
        self._set_state("starting")

    def stop(self) -> None:
        if self.session is not None and self.state in ("starting", "listening"):
            self.voice.stop(self.session)
            self._set_state("transcribing")

    def warm_up(self) -> None:
        """Load the model in the voice process now, so the first dictation is quick."""
        self.voice.warm_up(self.dictation_options()["model"])

    def dictation_options(self) -> dict[str, Any]:
        """The window's model and language, greedy decoding: dictation wants speed."""
        opts = self._options()
        return {"model": opts["model"], "language": opts.get("language"),
                "task": opts.get("task", "transcribe"), "temperatures": (0.0,)}  # fmt: skip

    def copy_again(self) -> None:
        if self.last is not None and self.last.text:
            self.clipboard.set_text(self.last.text)
            self.note.setText("Copied to the clipboard again.")

    # -- messages from the voice process -------------------------------------------------------
    def _on_message(self, message: Any) -> None:
        if getattr(message, "session", None) != self.session or self.session is None:
            return
        if isinstance(message, Level):
            self.meter.set_level(message.peak_dbfs, message.rms_dbfs)
        elif isinstance(message, Started):
            if self.state == "starting":
                self._set_state("listening")
        elif isinstance(message, SpeechStarted):
            self.status.setText("Listening… (hearing you)")
        elif isinstance(message, SpeechEnded):
            self._set_state("transcribing")
        elif isinstance(message, DictationDone):
            self._finish(message)
        elif isinstance(message, Problem):
            self.note.setText(message.user_message)
            if message.fatal:
                self.session = None
                self._set_state("idle")
                self.status.setText("Dictation stopped.")

    def _finish(self, done: DictationDone) -> None:
        self.session = None
        self.last = done
        self.meter.idle()
        self._set_state("idle")
        if not done.text:
            self.status.setText(NOTHING_HEARD)
            self.text.clear()
            self.note.setText("Nothing was put on the clipboard.")
        else:
            self.text.setPlainText(done.text)
            self.clipboard.set_text(done.text)
            self.status.setText("Copied to the clipboard.")
            self._keep(done)
            if self.paste.isChecked():
                self._paste()
        self.dictated.emit(done)

    def _keep(self, done: DictationDone) -> None:
        keep_in_library(self, done.transcript, dictation_title(done.text), "dictation")

    def _paste(self) -> None:
        if QGuiApplication.applicationState() == Qt.ApplicationState.ApplicationActive and \
                self.isActiveWindow() and _is_mac():  # fmt: skip
            self.note.setText("Stenogram is in front, so the text was not pasted anywhere; "
                              "it is on the clipboard.")  # fmt: skip
            return
        task = self.worker.run(lambda _p, _c: _paste_into_front_app(), "paste", lane=IO_LANE)
        task.failed.connect(lambda exc: self.note.setText(
            getattr(exc, "user_message", None) or str(exc)))  # fmt: skip
        task.succeeded.connect(lambda _r: self.note.setText("Pasted into the app in front."))

    # -- looks -------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        keys = shortcut_text()
        if state == "idle":
            self.start_button.setText(f"Start Dictation ({keys})")
            if self.last is None:
                self.status.setText(f"Press {keys} or Start, then speak.")
        elif state == "starting":
            self.status.setText("Opening the microphone…")
            self.start_button.setText(f"Stop ({keys})")
        elif state == "listening":
            self.status.setText("Listening…")
            self.start_button.setText(f"Stop ({keys})")
        elif state == "transcribing":
            self.status.setText("Transcribing…")
        self.start_button.setEnabled(state != "transcribing")
        self.copy_button.setEnabled(state == "idle" and self.last is not None and bool(self.last.text))
        self.stop_on_pause.setEnabled(state == "idle")
        self.state_changed.emit(state)


def _is_mac() -> bool:
    import sys

    return sys.platform == "darwin"


def _paste_into_front_app() -> None:
    # Imported here: core.dictation pulls in the engine's modules, which the window never needs.
    from stenogram.core.dictation import paste_into_front_app

    paste_into_front_app()
