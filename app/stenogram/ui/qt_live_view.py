"""The live view: words appear as you speak (committed solid, tentative greyed).

Microphone picker, level meter, elapsed time, pause, stop. Stopping commits everything, keeps
the live transcript in the library, and offers "Transcribe Fully": the recording goes through
the normal job queue and opens in the editor as a timed transcript. Recording, decoding and
the LocalAgreement policy all run in the voice process (``QtVoice``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stenogram.ui.qt_level_meter import QtLevelMeter
from stenogram.ui.qt_live_text import QtLiveText
from stenogram.ui.qt_voice import QtVoice
from stenogram.ui.qt_voice_common import FinishesOnClose, fill_input_devices, keep_in_library
from stenogram.ui.qt_worker import QtWorker
from stenogram.ui.timefmt import format_ms
from stenogram.ui.voice_messages import Committed, Level, LiveDone, Problem, Started, Tentative


class QtLiveView(FinishesOnClose, QWidget):
    transcribe_requested = Signal(Path)  # the finished recording, for the job queue
    finished = Signal(object)  # LiveDone
    saved = Signal(object)  # the library id of the live transcript
    state_changed = Signal(str)  # "idle", "starting", "live", "paused", "finishing"

    def __init__(self, voice: QtVoice, worker: QtWorker, options: Callable[[], dict[str, Any]],
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Live Transcription")
        self.voice = voice
        self.worker = worker
        self._options = options
        self.session: int | None = None
        self.state = "idle"
        self.done: LiveDone | None = None
        self._closing = False
        self._build()
        self.voice.message.connect(self._on_message)
        self._set_state("idle")
        self.refresh_devices()
        self.resize(640, 440)

    def _build(self) -> None:
        self.device = QComboBox()
        self.device.setAccessibleName("Microphone")
        self.meter = QtLevelMeter()
        self.elapsed = QLabel("0:00")
        self.elapsed.setAccessibleName("Elapsed time")
        self.elapsed.setStyleSheet("font-weight: 600;")
        self.text = QtLiveText()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.full_button = QPushButton("Transcribe Fully")
        self.full_button.setToolTip("Transcribe the recording again with the full engine; "
                                    "it opens in the editor with word times.")  # fmt: skip
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.full_button.clicked.connect(self.transcribe_fully)
        top = QHBoxLayout()
        top.addWidget(QLabel("Microphone"))
        top.addWidget(self.device, 1)
        top.addWidget(self.elapsed)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.full_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.meter)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)

    def refresh_devices(self) -> None:
        problem = fill_input_devices(self.device)
        if problem:
            self.note.setText(problem)

    # -- commands ----------------------------------------------------------------------------
    def start(self, device: int | str | None = None) -> None:
        if self.state != "idle":
            return
        self.text.clear_all()
        self.meter.reset()
        self.note.clear()
        self.elapsed.setText("0:00")
        self.done = None
        opts = self._options()
        options = {"model": opts["model"], "language": opts.get("language"),
                   "task": opts.get("task", "transcribe"), "temperatures": (0.0,)}  # fmt: skip
        chosen = device if device is not None else self.device.currentData()
        from stenogram.core.paths import recordings_dir

        self.session = self.voice.start_live(options, device=chosen, directory=recordings_dir())
        self._set_state("starting")

    def warm_up(self) -> None:
        """Load the model in the voice process now, so words appear from the first second."""
        self.voice.warm_up(self._options()["model"])

    def toggle_pause(self) -> None:
        if self.session is None:
            return
        if self.state == "live":
            self.voice.pause(self.session)
            self._set_state("paused")
        elif self.state == "paused":
            self.voice.resume(self.session)
            self._set_state("live")

    def stop(self) -> None:
        if self.session is not None and self.state in ("starting", "live", "paused"):
            self.voice.stop(self.session)
            self._set_state("finishing")

    def transcribe_fully(self) -> None:
        if self.done is not None:
            self.transcribe_requested.emit(self.done.audio_path)
            self.note.setText(f"{self.done.audio_path.name} is queued for a full transcription; "
                              "it opens in the editor when done.")  # fmt: skip

    # -- messages ------------------------------------------------------------------------------
    def _on_message(self, message: Any) -> None:
        if self.session is None or getattr(message, "session", None) != self.session:
            return
        if isinstance(message, Level):
            self.meter.set_level(message.peak_dbfs, message.rms_dbfs)
            self.elapsed.setText(format_ms(message.elapsed_ms, millis=False))
        elif isinstance(message, Committed):
            self.text.add_committed(message.words)
        elif isinstance(message, Tentative):
            self.text.set_tentative(message.words)
        elif isinstance(message, Started):
            if self.state == "starting":
                self._set_state("live")
            self.note.setText(f"Recording from {message.device_name}.")
        elif isinstance(message, LiveDone):
            self._finish(message)
        elif isinstance(message, Problem):
            self.note.setText(message.user_message)
            if message.fatal:
                self.session = None
                self._set_state("idle")

    def _finish(self, done: LiveDone) -> None:
        self.session = None
        self.done = done
        self.text.set_tentative(())  # everything is committed now
        self.meter.idle()
        self.elapsed.setText(format_ms(done.duration_ms, millis=False))
        self._set_state("idle")
        self.note.setText(f"Saved {done.audio_path.name}. Transcribe it fully for a timed "
                          "transcript in the editor.")  # fmt: skip
        if done.transcript.segments:
            self._keep(done)
        self.finished.emit(done)

    def _keep(self, done: LiveDone) -> None:
        keep_in_library(self, done.transcript, f"Live {datetime.now():%Y-%m-%d %H:%M}", "live transcript")

    # -- looks ---------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        recording = state in ("starting", "live", "paused")
        self.start_button.setEnabled(state == "idle")
        self.device.setEnabled(state == "idle")
        self.pause_button.setEnabled(state in ("live", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(recording)
        self.stop_button.setText("Finishing…" if state == "finishing" else "Stop")
        self.full_button.setEnabled(state == "idle" and self.done is not None)
        self.state_changed.emit(state)
