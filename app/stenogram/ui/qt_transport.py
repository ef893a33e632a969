"""The editor's transport bar: play/pause, position, loop the current segment, speed, zoom."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStyle,
    QToolButton,
    QWidget,
)

from stenogram.ui.qt_player import SPEEDS, QtPlayer
from stenogram.ui.timefmt import format_ms


class QtTransport(QWidget):
    def __init__(self, editor, parent: QWidget | None = None) -> None:  # editor: QtEditor
        super().__init__(parent)
        player: QtPlayer = editor.player
        self.play = QToolButton()
        self.play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play.setAccessibleName("Play or pause")
        self.play.setToolTip("Play/Pause (Space)")
        self.play.clicked.connect(player.toggle)
        self.position = QLabel("0:00.000")
        self.position.setAccessibleName("Playback position")
        self.loop = QCheckBox("Loop segment")
        self.loop.toggled.connect(editor.toggle_loop)
        self.speed = QComboBox()
        self.speed.setAccessibleName("Playback speed")
        for rate in SPEEDS:
            self.speed.addItem(f"{rate:g}×", rate)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.currentIndexChanged.connect(lambda _i: player.set_speed(self.speed.currentData()))
        zoom_in, zoom_out = QToolButton(), QToolButton()
        zoom_in.setText("+")
        zoom_out.setText("−")
        zoom_in.setAccessibleName("Zoom in")
        zoom_out.setAccessibleName("Zoom out")
        zoom_in.clicked.connect(lambda: editor.timeline.zoom_by(1.5))
        zoom_out.clicked.connect(lambda: editor.timeline.zoom_by(1 / 1.5))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for w in (self.play, self.position, self.loop, QLabel("Speed"), self.speed):
            layout.addWidget(w)
        layout.addStretch(1)
        layout.addWidget(QLabel("Zoom"))
        layout.addWidget(zoom_out)
        layout.addWidget(zoom_in)
        player.position_changed.connect(lambda ms: self.position.setText(format_ms(ms)))
        player.playing_changed.connect(self._on_playing)

    def _on_playing(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play.setIcon(self.style().standardIcon(icon))
