"""The voice process as a Qt object: its messages arrive as a Qt signal in the GUI thread.

``VoiceProcess`` hands messages to listeners on its reader thread; emitting a Qt signal from
there makes Qt queue each one to the slots' (GUI) thread. Windows connect ``message`` and keep
only the messages of the session they started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

from stenogram.ui.voice_process import VoiceProcess


class QtVoice(QObject):
    message = Signal(object)  # a voice_messages dataclass

    def __init__(self, process: VoiceProcess | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = process or VoiceProcess()
        self._owns_process = process is None
        self.process.add_listener(self.message.emit)

    def start_dictation(self, options: dict[str, Any], **kw: Any) -> int:
        return self.process.start_dictation(options, **kw)

    def start_live(self, options: dict[str, Any], **kw: Any) -> int:
        return self.process.start_live(options, **kw)

    def stop(self, session: int) -> None:
        self.process.stop(session)

    def pause(self, session: int) -> None:
        self.process.pause(session)

    def resume(self, session: int) -> None:
        self.process.resume(session)

    def warm_up(self, model: str) -> None:
        self.process.warm_up(model)

    def close(self) -> None:
        """Detach; stop the child when this object started it (a shared one is left running)."""
        self.process.remove_listener(self.message.emit)
        if self._owns_process:
            self.process.close()


def wait_until(done: Callable[[], bool], timeout_ms: int) -> bool:
    """Runs the event loop until ``done()`` (or the timeout); for finishing work while closing."""
    loop = QEventLoop()
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: loop.quit() if done() else None)
    QTimer.singleShot(timeout_ms, loop.quit)
    if not done():
        timer.start()
        loop.exec()
        timer.stop()
    return done()
