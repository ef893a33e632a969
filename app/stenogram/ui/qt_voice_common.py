"""What the voice windows (dictation, live view, record panel) do alike."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox

from stenogram.ui import library_access
from stenogram.ui.qt_voice import wait_until
from stenogram.ui.qt_worker import IO_LANE

FINISH_ON_QUIT_MS = 15_000  # quitting waits this long for the last decode of what was said


class FinishesOnClose:
    """For a voice window (a QWidget with ``stop()``, ``session``, ``voice`` and
    ``_on_message``): closing or quitting never loses what was said; it is finished and kept."""

    def closeEvent(self, event: Any) -> None:  # noqa: N802  (Qt's name)
        self.stop()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = FINISH_ON_QUIT_MS) -> None:
        """Quitting mid-session: what was said so far is transcribed and kept first."""
        self._closing = True
        self.stop()
        wait_until(lambda: self.session is None, timeout_ms)
        self.voice.message.disconnect(self._on_message)


def fill_input_devices(combo: QComboBox) -> str | None:
    """The microphones, system default first; a sentence for the user when none can be listed."""
    from stenogram.core.audio_devices import MicrophoneError, list_input_devices

    combo.clear()
    combo.addItem("System default", None)
    try:
        for dev in list_input_devices():
            combo.addItem(dev.name + (" (default)" if dev.is_default else ""), dev.name)
    except MicrophoneError as exc:
        return exc.user_message
    return None


def keep_in_library(owner: Any, transcript: Any, title: str, what: str) -> None:
    """Save a voice transcript in the library off the GUI thread; ``owner`` is the window
    (its ``worker``, ``saved`` signal, ``note`` label and ``_closing`` flag)."""

    def save(_progress: Any, _cancel: Any) -> Any:
        lib = library_access.library()
        return None if lib is None else lib.add_transcript(transcript, title=title)

    if owner._closing:  # the worker is about to stop: save now, it takes milliseconds
        owner.saved.emit(save(None, None))
        return
    task = owner.worker.run(save, f"keep {what}", lane=IO_LANE)
    task.succeeded.connect(owner.saved.emit)
    task.failed.connect(lambda exc: owner.note.setText(
        f"The {what} could not be kept in the library: "
        + (getattr(exc, "user_message", None) or str(exc))))  # fmt: skip
