"""The picture of a video file with the current cue drawn over it, like a subtitle."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView, QWidget

CUE_FONT_SHARE = 0.055  # cue text height as a share of the picture height


class QtVideoView(QGraphicsView):
    """A QGraphicsVideoItem plus a text item; `set_cue` changes the caption."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtMultimediaWidgets import QGraphicsVideoItem

        self.setAccessibleName("Video")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QColor(0, 0, 0))
        self.setScene(QGraphicsScene(self))
        self.video = QGraphicsVideoItem()
        self.video.setSize(QSizeF(640, 360))
        self.scene().addItem(self.video)
        self.cue = QGraphicsSimpleTextItem()
        self.cue.setBrush(QColor(255, 255, 255))
        self.cue.setPen(QColor(0, 0, 0))
        self.scene().addItem(self.cue)
        self.video.nativeSizeChanged.connect(self._layout)
        self.setMinimumHeight(120)

    def set_cue(self, text: str) -> None:
        if self.cue.text() != text:
            self.cue.setText(text)
            self._layout()

    def _layout(self, *_args) -> None:
        native = self.video.nativeSize()
        if native.isValid() and native.width() > 0:
            self.video.setSize(native)
        size = self.video.size()
        font = QFont()
        font.setPixelSize(max(10, int(size.height() * CUE_FONT_SHARE)))
        font.setBold(True)
        self.cue.setFont(font)
        box = self.cue.boundingRect()
        self.cue.setPos((size.width() - box.width()) / 2, size.height() - box.height() * 1.6)
        self.scene().setSceneRect(QRectF(0, 0, size.width(), size.height()))
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._layout()
