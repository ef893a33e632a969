"""The record panel: pick a microphone, watch the level, pause, stop; the recording is
then transcribed like any dropped file.

All recording is `core.recorder.Recorder`; its psygnal signals come from its writer thread,
so a small bridge re-emits them as Qt signals, which Qt queues to the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from stenogram.ui.qt_voice_common import fill_input_devices
from stenogram.ui.timefmt import format_ms

METER_FLOOR_DBFS = -60.0  # the meter's left end; quieter shows as empty
ELAPSED_REFRESH_MS = 200


class _RecorderBridge(QObject):
    """Recorder signals (writer thread) → Qt signals (delivered in the GUI thread)."""

    level = Signal(float, float)  # peak dBFS, rms dBFS
    problem = Signal(str)


class QtRecordPanel(QDialog):
    recorded = Signal(Path)  # a finished recording, ready to transcribe

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record")
        self.recorder: Any = None
        self.bridge = _RecorderBridge(self)
        self.bridge.level.connect(self._show_level)
        self.bridge.problem.connect(self._show_problem)
        self.device = QComboBox()
        self.device.setAccessibleName("Microphone")
        self.meter = QProgressBar()
        self.meter.setRange(0, 1000)
        self.meter.setTextVisible(False)
        self.meter.setAccessibleName("Input level")
        self.level_text = QLabel("–")
        self.elapsed = QLabel("0:00")
        self.elapsed.setAccessibleName("Elapsed time")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.record_button = QPushButton("Record")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop and Transcribe")
        form = QFormLayout()
        form.addRow("Microphone", self.device)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.level_text)
        form.addRow("Level", meter_row)
        form.addRow("Recorded", self.elapsed)
        buttons = QHBoxLayout()
        for b in (self.record_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.record_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self._timer = QTimer(self, interval=ELAPSED_REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self.peak_dbfs = METER_FLOOR_DBFS  # the loudest level seen (tests and the meter)
        self.resize(460, 200)
        self._set_state("idle")
        self.refresh_devices()

    def refresh_devices(self) -> None:
        problem = fill_input_devices(self.device)
        if problem:
            self._show_problem(problem)

    def start(self) -> bool:
        from stenogram.core.audio_devices import MicrophoneError
        from stenogram.core.recorder import Recorder, RecorderOptions

        self.recorder = Recorder(RecorderOptions(device=self.device.currentData()))
        self.recorder.level.connect(lambda lv: self.bridge.level.emit(lv.peak_dbfs, lv.rms_dbfs))
        self.recorder.failed.connect(lambda err: self.bridge.problem.emit(err.user_message))
        self.recorder.warning.connect(lambda err: self.bridge.problem.emit(err.user_message))
        try:
            self.recorder.start()
        except MicrophoneError as exc:
            self.recorder = None
            self._show_problem(exc.user_message)
            return False
        self.message.clear()
        self._set_state("recording")
        self._timer.start()
        return True

    def toggle_pause(self) -> None:
        if self.recorder is None:
            return
        if self.recorder.paused:
            self.recorder.resume()
            self._set_state("recording")
        else:
            self.recorder.pause()
            self._set_state("paused")

    def stop(self) -> Path | None:
        if self.recorder is None:
            return None
        self._timer.stop()
        result = self.recorder.stop()
        self.recorder = None
        self._set_state("idle")
        if result.error is not None:  # the device went away: what was heard is kept
            self._show_problem(result.error.user_message)
        self.message.setText(f"Saved {result.path.name} ({format_ms(result.duration_ms, millis=False)}); "
                             "it is being transcribed.")
        self.recorded.emit(result.path)
        return result.path

    def _set_state(self, state: str) -> None:
        self.record_button.setEnabled(state == "idle")
        self.device.setEnabled(state == "idle")
        self.pause_button.setEnabled(state != "idle")
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state != "idle")

    def _tick(self) -> None:
        if self.recorder is not None:
            self.elapsed.setText(format_ms(self.recorder.elapsed_ms, millis=False))

    def _show_level(self, peak: float, rms: float) -> None:
        self.peak_dbfs = max(self.peak_dbfs, peak)
        share = (max(METER_FLOOR_DBFS, peak) - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS
        self.meter.setValue(int(share * 1000))
        self.level_text.setText(f"{peak:5.1f} dBFS peak · {rms:5.1f} RMS")

    def _show_problem(self, text: str) -> None:
        self.message.setText(text)

    def closeEvent(self, event) -> None:
        if self.recorder is not None:  # closing the panel never loses a recording
            self.stop()
        super().closeEvent(event)
