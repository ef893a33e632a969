"""The main window's voice features in one place: dictation, the live view, crash recovery.

It owns the voice process (started on first use, model kept warm), makes the two windows on
demand, registers the global dictation shortcut where there is one, and at start offers back
recordings a crash left. The main window holds one of these and routes menu actions to it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer

from stenogram.ui.global_shortcut import make_global_shortcut
from stenogram.ui.qt_worker import IO_LANE

log = logging.getLogger(__name__)


class QtVoiceWindows(QObject):
    def __init__(self, window: Any, voice: Any = None) -> None:
        super().__init__(window)
        self.window = window
        self._voice = voice  # a shared QtVoice (tests), else made on first use
        self.dictation: Any = None
        self.live: Any = None
        self.recovery: Any = None
        self._closed = False
        self.global_shortcut = make_global_shortcut()
        # Carbon calls back inside its own dispatch: hop to a clean turn of Qt's event loop.
        self.global_shortcut.register(lambda: QTimer.singleShot(0, self.toggle_dictation))

    @property
    def voice(self) -> Any:
        if self._voice is None:
            from stenogram.ui.qt_voice import QtVoice

            self._voice = QtVoice(parent=self)
        return self._voice

    def _options(self) -> dict[str, Any]:
        return self.window.pickers.options()

    # -- dictation -----------------------------------------------------------------------------
    def dictation_window(self) -> Any:
        if self.dictation is None:
            from stenogram.ui.qt_dictation_window import QtDictationWindow

            self.dictation = QtDictationWindow(self.voice, self.window.worker, self.window.settings,
                                               self._options, parent=self.window)  # fmt: skip
            self.dictation.saved.connect(lambda _id: self.window.library.refresh())
            if not self.global_shortcut.active:
                self.dictation.note.setText(self.global_shortcut.note)
            self.dictation.warm_up()
        return self.dictation

    def show_dictation(self) -> Any:
        window = self.dictation_window()
        window.show()
        window.raise_()
        return window

    def toggle_dictation(self) -> Any:
        """The shortcut: show the window and start listening, or stop."""
        window = self.show_dictation()
        window.toggle()
        return window

    # -- live ----------------------------------------------------------------------------------
    def show_live(self) -> Any:
        if self.live is None:
            from stenogram.ui.qt_live_view import QtLiveView

            self.live = QtLiveView(self.voice, self.window.worker, self._options, parent=self.window)
            self.live.transcribe_requested.connect(lambda path: self.window.open_paths([path]))
            self.live.saved.connect(lambda _id: self.window.library.refresh())
            self.live.warm_up()
        self.live.show()
        self.live.raise_()
        return self.live

    # -- recovery ------------------------------------------------------------------------------
    def offer_recoveries(self) -> None:
        """Looks for recordings a crash left (off the GUI thread) and offers them back."""
        from stenogram.core.recording_file import find_unfinished_recordings

        task = self.window.worker.run(lambda _p, _c: find_unfinished_recordings(),
                                      "unfinished recordings", lane=IO_LANE)  # fmt: skip
        task.succeeded.connect(self._show_recovery)
        task.failed.connect(lambda exc: log.warning("could not look for recordings: %s", exc))

    def _show_recovery(self, recordings: list[Any]) -> None:
        if not recordings:
            return
        from stenogram.ui.qt_recovery_dialog import QtRecoveryDialog

        self.recovery = QtRecoveryDialog(recordings, self.window)
        self.recovery.recovered.connect(lambda path: self.window.open_paths([Path(path)]))
        self.recovery.open()

    # -- the end -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Finish any recording (it is kept) and stop the voice process; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.global_shortcut.unregister()
        for window in (self.dictation, self.live):
            if window is not None:
                window.shutdown()
        if self._voice is not None:
            self._voice.close()
