"""Dictation, the live view and crash recovery in the real app, through the virtual microphone.

Real widgets, a real voice process (recorder + VAD + tiny.en in a child), real speech played
into the PulseAudio virtual mic, the real clipboard and library.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from voice_helpers import write_wav

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytestmark = pytest.mark.audio

CLIP = "en_ls_2830-3980-0000.flac"  # "In every way they sought to undermine the authority of Saint Paul"
SAMPLE_RATE = 16_000


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


@pytest.fixture(scope="session")
def voice_process(virtual_mic):
    """One voice child for the session (spawned after the virtual mic is up, so it hears it)."""
    from stenogram.ui.voice_process import VoiceProcess

    process = VoiceProcess()
    yield process
    process.close()


@pytest.fixture(scope="session")
def clip_wav(load_16k, tmp_path_factory) -> Path:
    """The clip with half a second of quiet before it, as a WAV for paplay."""
    lead = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    return write_wav(tmp_path_factory.mktemp("clips") / "clip.wav",
                     np.concatenate([lead, load_16k(CLIP)]))  # fmt: skip


@pytest.fixture
def main_window(qtbot, tmp_path, voice_process, tiny_en, stenogram_home):
    from stenogram.ui import library_access
    from stenogram.ui.main_window import MainWindow
    from stenogram.ui.qt_voice import QtVoice
    from stenogram.ui.settings import Settings

    window = MainWindow(Settings(tmp_path / "settings.ini"), voice=QtVoice(voice_process))
    window.pickers.options = lambda: {"model": str(tiny_en), "language": "en",
                                      "task": "transcribe", "word_timestamps": True}  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()
    library_access.reset()


def _titles() -> list[str]:
    from stenogram.ui import library_access

    return [info.title or "" for info in library_access.library().list_transcripts()]


def test_dictation_puts_the_spoken_words_on_the_clipboard_and_in_the_library(
    qtbot, main_window, virtual_mic, clip_wav
):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QKeySequence

    action = main_window.actions_.dictate
    assert action.shortcut() == QKeySequence("Ctrl+Alt+D")  # ⌥⌘D on macOS
    assert action.shortcutContext() == Qt.ShortcutContext.ApplicationShortcut  # from every window
    QGuiApplication.clipboard().setText("before")
    action.trigger()  # the menu item / the shortcut
    dictation = main_window.voice_windows.dictation
    assert dictation.isVisible()
    dictation.paste.setChecked(True)  # on Linux: a note, not an error
    qtbot.waitUntil(lambda: dictation.state == "listening", timeout=30_000)
    assert dictation.status.text() == "Listening…"
    with qtbot.waitSignal(dictation.dictated, timeout=90_000) as done, \
            qtbot.waitSignal(dictation.saved, timeout=90_000) as saved:  # fmt: skip
        virtual_mic.speak(clip_wav).wait()  # then the pause after it ends the dictation
    result = done.args[0]
    assert result.ended_by == "silence"
    assert "undermine the authority of" in " ".join(words(result.text))
    assert QGuiApplication.clipboard().text() == result.text
    assert dictation.text.toPlainText() == result.text
    assert dictation.status.text() == "Copied to the clipboard."
    assert dictation.meter.loudest_dbfs > -40  # the meter saw the speech
    qtbot.waitUntil(lambda: "macOS" in dictation.note.text(), timeout=10_000)
    # Kept in the library with its audio.
    assert saved.args[0] is not None
    titles = _titles()
    assert len(titles) == 1 and titles[0].startswith("Dictation ")
    assert "In every way" in titles[0] or "in every way" in titles[0].lower()
    from stenogram.ui import library_access

    kept = library_access.load_transcript(saved.args[0])
    assert Path(kept.media_path).is_file() and kept.media_path.endswith(".wav")
    qtbot.waitUntil(lambda: main_window.library.results.count() == 1, timeout=10_000)


def test_silence_gives_no_text_and_leaves_the_clipboard_alone(qtbot, main_window):
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().setText("untouched")
    dictation = main_window.voice_windows.toggle_dictation()
    qtbot.waitUntil(lambda: dictation.state == "listening", timeout=30_000)
    qtbot.wait(1500)  # the microphone hears only silence
    with qtbot.waitSignal(dictation.dictated, timeout=60_000) as done:
        main_window.actions_.dictate.trigger()  # the same key stops it
    assert done.args[0].text == ""
    assert dictation.status.text() == "Didn't hear anything."
    assert dictation.text.toPlainText() == ""
    assert QGuiApplication.clipboard().text() == "untouched"
    assert not dictation.copy_button.isEnabled()
    qtbot.wait(300)
    assert _titles() == []  # nothing said, nothing kept


def test_live_view_keeps_the_last_words_and_transcribes_the_recording_fully(
    qtbot, main_window, virtual_mic, clip_wav, tiny_en
):
    from stenogram.ui.jobs import JobStatus
    from stenogram.ui.voice_messages import Ready

    with qtbot.waitSignal(main_window.voice_windows.voice.message, timeout=60_000,
                          check_params_cb=lambda m: isinstance(m, Ready)) as ready:  # fmt: skip
        main_window.actions_.live.trigger()  # opening the view warms the model up
    assert ready.args[0].user_message is None
    live = main_window.voice_windows.live
    assert live.isVisible() and live.device.count() >= 2
    tentative_seen: list[str] = []
    live.text.updated.connect(lambda: tentative_seen.append(live.text.tentative_text))
    live.start_button.click()
    qtbot.waitUntil(lambda: live.state == "live", timeout=30_000)
    virtual_mic.speak(clip_wav).wait()
    qtbot.waitUntil(lambda: live.elapsed.text() != "0:00", timeout=5000)
    # Words show up as they are decoded; the first hypothesis is not confirmed yet: greyed.
    qtbot.waitUntil(lambda: live.text.toPlainText() != "", timeout=10_000)
    # (an update may carry committed words only; the tail comes in the next message)
    assert any(tentative_seen), "the greyed tail was shown while speaking"
    assert live.meter.loudest_dbfs > -40
    with qtbot.waitSignal(live.finished, timeout=90_000) as done, \
            qtbot.waitSignal(live.saved, timeout=90_000):  # fmt: skip
        live.stop_button.click()
        assert live.state == "finishing"
    committed = words(live.text.committed_text)
    assert "undermine the authority of" in " ".join(committed)
    assert committed[-1] == "paul", committed  # stopping kept the very last word
    assert live.text.tentative_text == "" and live.text.toPlainText().strip() == live.text.committed_text.strip()
    recording = done.args[0].audio_path
    assert recording.is_file() and recording.suffix == ".wav"
    assert [t for t in _titles() if t.startswith("Live ")]
    # "Transcribe Fully" queues the recording as a normal job (it opens in the editor when done).
    assert live.full_button.isEnabled()
    live.full_button.click()
    jobs = list(main_window.jobs)
    assert [j.path for j in jobs] == [recording]
    assert jobs[0].status in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert jobs[0].options["model"] == str(tiny_en) and jobs[0].options["word_timestamps"]


def test_quitting_while_live_finishes_the_recording_and_keeps_the_text(
    qtbot, main_window, virtual_mic, clip_wav
):
    from stenogram.core.paths import recordings_dir
    from stenogram.ui.voice_messages import Ready

    with qtbot.waitSignal(main_window.voice_windows.voice.message, timeout=60_000,
                          check_params_cb=lambda m: isinstance(m, Ready)):  # fmt: skip
        live = main_window.voice_windows.show_live()  # a warm model, as after a first use
    live.start()
    qtbot.waitUntil(lambda: live.state == "live", timeout=30_000)
    virtual_mic.speak(clip_wav).wait()
    with qtbot.waitSignal(live.saved, timeout=30_000) as saved:
        main_window.close()  # quits mid-recording: the last decode runs before the window goes
    assert saved.args[0] is not None
    [title] = _titles()
    assert title.startswith("Live ")
    from stenogram.ui import library_access

    kept = library_access.load_transcript(saved.args[0])
    assert words(kept.text)[-1] == "paul"
    assert [p.name.endswith(".partial.wav") for p in recordings_dir().iterdir()] == [False]


def test_recovery_dialog_offers_a_recording_whose_process_was_killed(
    qtbot, tmp_path, virtual_mic, tiny_en, stenogram_home
):
    import queue

    from stenogram.core.paths import recordings_dir
    from stenogram.ui import library_access
    from stenogram.ui.main_window import MainWindow
    from stenogram.ui.settings import Settings
    from stenogram.ui.voice_messages import Level, Problem, Started
    from stenogram.ui.voice_process import VoiceProcess

    doomed = VoiceProcess()  # its own child: this one gets killed
    messages: queue.Queue = queue.Queue()
    doomed.add_listener(messages.put)
    session = doomed.start_live({"model": str(tiny_en), "language": "en"},
                                directory=recordings_dir())  # fmt: skip
    started = _next(messages, Started, 60)
    assert started.session == session and started.path.name.endswith(".partial.wav")
    heard_ms = 0
    while heard_ms < 1500:
        heard_ms = _next(messages, Level, 10).elapsed_ms
    os.kill(doomed.pid, signal.SIGKILL)
    crash = _next(messages, Problem, 10)
    assert crash.kind == "crash" and "offered back" in crash.user_message
    doomed.close()

    window = MainWindow(Settings(tmp_path / "settings.ini"))
    window.pickers.options = lambda: {"model": str(tiny_en), "language": "en",
                                      "task": "transcribe", "word_timestamps": True}  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.voice_windows.recovery is not None, timeout=10_000)
        dialog = window.voice_windows.recovery
        assert dialog.isVisible()
        assert dialog.paths() == [started.path]
        assert started.path.name in dialog.list.item(0).text()
        # The kill lost at most half a second of what the process had reported recording.
        from stenogram.core.recording_file import find_unfinished_recordings

        [left] = find_unfinished_recordings()
        assert left.duration_ms >= heard_ms - 500
        with qtbot.waitSignal(dialog.recovered, timeout=5000) as got:
            dialog.recover_button.click()
        recovered = got.args[0]
        assert recovered.name == started.path.name.replace(".partial.wav", ".wav")
        assert recovered.is_file() and not started.path.exists()
        assert [j.path for j in window.jobs] == [recovered]  # queued for transcription
        assert not dialog.isVisible()
    finally:
        window.shutdown()
        library_access.reset()


def _next(messages, kind, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            message = messages.get(timeout=max(0.01, deadline - time.monotonic()))
        except Exception:
            break
        if isinstance(message, kind):
            return message
    raise AssertionError(f"no {kind.__name__} within {timeout_s} s")


def test_global_shortcut_is_a_clear_no_op_off_macos(qtbot):
    from stenogram.ui.global_shortcut import NoGlobalShortcut, make_global_shortcut

    shortcut = make_global_shortcut("linux")
    assert isinstance(shortcut, NoGlobalShortcut)
    assert shortcut.register(lambda: None) is False and not shortcut.active
    assert "macOS" in shortcut.note and "Ctrl+Alt+D" in shortcut.note


@pytest.mark.skipif(sys.platform == "darwin", reason="registers a real hot key on macOS")
def test_macos_hot_key_without_carbon_fails_with_a_note_not_a_crash():
    from stenogram.ui.global_shortcut import CarbonHotKey

    hot_key = CarbonHotKey()
    assert hot_key.register(lambda: None) is False and not hot_key.active
    assert "in front" in hot_key.note
    hot_key.unregister()  # harmless when nothing was registered


def test_live_view_with_a_missing_model_says_so_and_still_keeps_the_recording(qtbot, main_window):
    main_window.pickers.options = lambda: {"model": "no-such-model", "language": "en"}
    live = main_window.voice_windows.show_live()
    live.start()
    qtbot.waitUntil(lambda: "Live text stopped" in live.note.text(), timeout=30_000)
    assert "no-such-model" in live.note.text()
    assert live.state == "live"  # the recording goes on
    # Pause reaches the recorder: the recorded length stops growing until Resume.
    qtbot.waitUntil(lambda: live.elapsed.text() != "0:00", timeout=10_000)
    live.pause_button.click()
    assert live.state == "paused" and live.pause_button.text() == "Resume"
    qtbot.wait(400)
    paused_at = live.elapsed.text()
    qtbot.wait(1200)  # several level messages, each with the recorded length
    assert live.elapsed.text() == paused_at
    live.pause_button.click()
    assert live.state == "live"
    qtbot.waitUntil(lambda: live.elapsed.text() != paused_at, timeout=5000)
    with qtbot.waitSignal(live.finished, timeout=30_000) as done:
        live.stop()
    assert done.args[0].audio_path.is_file()
    assert live.full_button.isEnabled()  # it can still be transcribed with another model
    assert live.text.committed_text == ""


def test_recovery_dialog_recovers_one_recording_and_discards_another(qtbot, load_16k, stenogram_home):
    from stenogram.core.paths import recordings_dir
    from stenogram.core.recording_file import find_unfinished_recordings
    from stenogram.ui.qt_recovery_dialog import QtRecoveryDialog

    folder = recordings_dir()
    clip = load_16k(CLIP)
    for name in ("recording-2026-01-01_10-00-00", "dictation-2026-01-01_11-00-00"):
        write_wav(folder / f"{name}.partial.wav", clip)  # as a killed process leaves them
    dialog = QtRecoveryDialog(find_unfinished_recordings())
    qtbot.addWidget(dialog)
    dialog.show()
    assert [p.name for p in dialog.paths()] == ["dictation-2026-01-01_11-00-00.partial.wav",
                                                "recording-2026-01-01_10-00-00.partial.wav"]
    dialog.list.setCurrentRow(0)
    assert [p.name for p in dialog.discard_selected()] == ["dictation-2026-01-01_11-00-00.partial.wav"]
    assert dialog.isVisible() and dialog.list.count() == 1
    dialog.list.setCurrentRow(0)
    with qtbot.waitSignal(dialog.recovered) as got:
        dialog.recover_button.click()
    assert got.args[0] == folder / "recording-2026-01-01_10-00-00.wav"
    assert sorted(p.name for p in folder.iterdir()) == ["recording-2026-01-01_10-00-00.wav"]
    assert not dialog.isVisible()  # nothing left to offer
