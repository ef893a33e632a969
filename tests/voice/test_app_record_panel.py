"""The app's record panel on a real (virtual) microphone: level, elapsed, stop → a file to
transcribe; and a clear sentence, not a crash, when the microphone is gone."""

from __future__ import annotations

import os
import wave

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.audio


def test_record_panel_records_what_the_microphone_hears(qtbot, virtual_mic, espeak_wav):
    from stenogram.ui.qt_record_panel import QtRecordPanel

    panel = QtRecordPanel()
    qtbot.addWidget(panel)
    assert panel.device.count() >= 2  # "System default" and the virtual microphone
    assert panel.start()
    assert not panel.record_button.isEnabled() and panel.stop_button.isEnabled()
    virtual_mic.speak(espeak_wav("Stenogram records every word you say.")).wait()
    qtbot.waitUntil(lambda: panel.peak_dbfs > -40, timeout=5000)  # the meter saw the speech
    qtbot.waitUntil(lambda: panel.elapsed.text() != "0:00", timeout=5000)
    with qtbot.waitSignal(panel.recorded, timeout=10_000) as got:
        qtbot.mouseClick(panel.stop_button, qtbot_button())
    path = got.args[0]
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 16000
        assert wav.getnframes() / 16000 > 1.5
    assert panel.record_button.isEnabled()


def test_record_panel_says_what_is_wrong_when_the_microphone_is_gone(qtbot, virtual_mic):
    from stenogram.ui.qt_record_panel import QtRecordPanel

    panel = QtRecordPanel()
    qtbot.addWidget(panel)
    panel.device.addItem("A microphone that is not there", "No Such Microphone 42")
    panel.device.setCurrentIndex(panel.device.count() - 1)
    assert not panel.start()
    assert "No Such Microphone 42" in panel.message.text() or "microphone" in panel.message.text().lower()
    assert panel.record_button.isEnabled()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
