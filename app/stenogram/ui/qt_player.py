"""Playback with QtMultimedia: play/pause, seek, speed, and looping the current segment.

QtMultimedia is imported when the first medium is opened, not at start-up. Where there is no
audio device (headless test machines) playback degrades to a silent position clock so the
editor still works; `available` says which.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal

TICK_MS = 33  # playhead refresh while playing (≈30 frames a second)
SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


class QtPlayer(QObject):
    position_changed = Signal(int)  # ms
    playing_changed = Signal(bool)
    error = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._player = None
        self._audio = None
        self.loop: tuple[int, int] | None = None  # (start_ms, end_ms) while looping a segment
        self.has_video = False
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._last_ms = -1

    @property
    def available(self) -> bool:
        return self._player is not None

    def open(self, path: Path | str | None, video_sink=None) -> None:
        """Load a medium; `video_sink` (a QGraphicsVideoItem or QVideoWidget) shows its picture."""
        if path is None or not Path(path).exists():
            return
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        except ImportError as exc:  # a Qt build without multimedia: edit without playback
            self.error.emit(f"Playback is not available here: {exc}")
            return
        if self._player is None:
            self._player = QMediaPlayer(self)
            self._audio = QAudioOutput(self)
            self._player.setAudioOutput(self._audio)
            self._player.playbackStateChanged.connect(self._on_state)
            self._player.errorOccurred.connect(lambda _e, msg: self.error.emit(msg))
            self._player.hasVideoChanged.connect(self._on_has_video)
        if video_sink is not None:
            self._player.setVideoOutput(video_sink)
        self._player.setSource(QUrl.fromLocalFile(str(Path(path).resolve())))

    def _on_has_video(self, has: bool) -> None:
        self.has_video = has

    @property
    def playing(self) -> bool:
        if self._player is None:
            return False
        from PySide6.QtMultimedia import QMediaPlayer

        return self._player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def toggle(self) -> None:
        if self._player is None:
            return
        if self.playing:
            self._player.pause()
        else:
            self._player.play()

    def pause(self) -> None:
        if self._player is not None:
            self._player.pause()

    def seek(self, ms: int) -> None:
        if self._player is not None:
            self._player.setPosition(int(ms))
        self._emit_position(int(ms))

    def position(self) -> int:
        return int(self._player.position()) if self._player is not None else max(0, self._last_ms)

    def set_speed(self, rate: float) -> None:
        if self._player is not None:
            self._player.setPlaybackRate(float(rate))

    def set_loop(self, span: tuple[int, int] | None) -> None:
        self.loop = span

    def stop(self) -> None:
        self._timer.stop()
        if self._player is not None:
            self._player.stop()
            self._player.setSource(QUrl())

    def _on_state(self, _state) -> None:
        playing = self.playing
        if playing:
            self._timer.start()
        else:
            self._timer.stop()
            self._tick()
        self.playing_changed.emit(playing)

    def _tick(self) -> None:
        ms = self.position()
        if self.loop is not None and self.playing and ms >= self.loop[1]:
            self.seek(self.loop[0])
            return
        self._emit_position(ms)

    def _emit_position(self, ms: int) -> None:
        if ms != self._last_ms:
            self._last_ms = ms
            self.position_changed.emit(ms)
