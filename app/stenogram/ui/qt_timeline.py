"""The timeline: waveform, segment blocks with draggable edges, playhead, zoom and scroll.

Custom-painted on a QAbstractScrollArea: only what is visible is drawn (segments found by
bisection, waveform peaks reduced to one column per pixel), so a 2-hour transcript with
thousands of segments repaints in a few milliseconds. An edge drag pushes the core's
`SetTimes` edits under one gesture token: one undo entry, clamped to neighbours by the core.
"""

from __future__ import annotations

import bisect
import contextlib
import math

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from stenogram.core.edits import EditError, HistoryEvent, SetTimes
from stenogram.ui.qt_undo import QtUndo
from stenogram.ui.snapping import silence_edges, snap, word_boundaries
from stenogram.ui.timefmt import format_ms

RULER_PX = 20  # height of the time ruler
EDGE_GRAB_PX = 5  # an edge is grabbed within this many pixels
SNAP_PX = 8  # snap to a word/silence edge this close
MIN_PPS, MAX_PPS = 0.05, 2000.0  # zoom limits in pixels per second
KEY_ZOOM = 1.5  # one + or - keypress
WHEEL_ZOOM_PER_DEGREE = 1.01  # ctrl/⌘-wheel: 15° a notch ≈ 16 %
TICK_STEPS_MS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000,
                 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000)
MIN_TICK_PX = 80


class QtTimeline(QAbstractScrollArea):
    seek_requested = Signal(int)  # ms
    segment_clicked = Signal(int)  # index
    segment_activated = Signal(int)  # index (double click: edit its text)
    zoom_changed = Signal(float)  # pixels per second

    def __init__(self, undo: QtUndo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Timeline")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.viewport().setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumHeight(110)
        self.undo = undo
        self.segments = undo.history.transcript.segments  # the core's list, read only here
        self.peaks = None  # core.waveform.WaveformPeaks once loaded
        self.pps = 50.0  # zoom: pixels per second
        self.playhead_ms = 0
        self.current = -1  # the selected segment
        self.warned: set[int] = set()  # segments with warnings, drawn in the warning colour
        self.decorate = None  # callable(painter, first, last, top, bottom): speaker colours (QtSpeakers)
        self._ends: list[int] = []  # segment end times, for bisection
        self._drag: tuple[int, str, object] | None = None  # (index, "start"/"end", gesture)
        self._drag_words: list[int] = []  # word boundaries when the drag began: snap targets
        self._fitted = False
        self.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        undo.history.changed.connect(self._on_history)
        self._reindex()

    # -- the document ------------------------------------------------------------------
    def detach(self) -> None:
        self.undo.history.changed.disconnect(self._on_history)

    def _on_history(self, _event: HistoryEvent) -> None:
        self._reindex()
        self.viewport().update()

    def _reindex(self) -> None:
        self._ends = [s.end_ms for s in self.segments]
        self._starts_np = np.fromiter((s.start_ms for s in self.segments), np.float64, len(self.segments))
        self._ends_np = np.asarray(self._ends, dtype=np.float64)
        self._update_scroll_range()

    def set_peaks(self, peaks) -> None:
        showing_all = self.horizontalScrollBar().maximum() == 0  # fitted, not zoomed in by hand
        self.peaks = peaks
        self._update_scroll_range()
        if showing_all:
            self.fit_all()  # the medium's length is known now
        self.viewport().update()

    @property
    def duration_ms(self) -> int:
        media = self.peaks.duration_ms if self.peaks is not None else 0
        known = self.undo.history.transcript.duration_ms or 0
        return max(media, known, self._ends[-1] if self._ends else 0, 1000)

    # -- geometry ------------------------------------------------------------------------
    @property
    def ms_per_px(self) -> float:
        return 1000.0 / self.pps

    @property
    def view_start_ms(self) -> float:
        return self.horizontalScrollBar().value() * self.ms_per_px

    def x_of(self, ms: float) -> float:
        return (ms - self.view_start_ms) / self.ms_per_px

    def ms_at(self, x: float) -> int:
        return max(0, round(self.view_start_ms + x * self.ms_per_px))

    def visible_range(self) -> tuple[int, int]:
        """Indices [first, last) of the segments that overlap the view."""
        start = self.view_start_ms
        end = start + self.viewport().width() * self.ms_per_px
        first = bisect.bisect_right(self._ends, start)
        last = int(np.searchsorted(self._starts_np, end, side="left"))
        return first, max(first, last)

    def _update_scroll_range(self) -> None:
        total_px = math.ceil(self.duration_ms / self.ms_per_px)
        bar = self.horizontalScrollBar()
        width = max(1, self.viewport().width())
        bar.setRange(0, max(0, total_px - width))
        bar.setPageStep(width)
        bar.setSingleStep(max(1, width // 20))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._fitted and self.viewport().width() > 1:
            self._fitted = True
            self.fit_all()
        self._update_scroll_range()

    # -- zoom and scroll -------------------------------------------------------------------
    def set_zoom(self, pps: float, anchor_x: float | None = None) -> None:
        """Zoom to `pps` pixels per second, keeping the time under `anchor_x` in place."""
        pps = min(MAX_PPS, max(self._min_pps(), pps))
        if anchor_x is None:
            anchor_x = self.viewport().width() / 2
        anchor_ms = self.view_start_ms + anchor_x * self.ms_per_px
        self.pps = pps
        self._update_scroll_range()
        self.horizontalScrollBar().setValue(round(anchor_ms / self.ms_per_px - anchor_x))
        self.viewport().update()
        self.zoom_changed.emit(pps)

    def _min_pps(self) -> float:
        return max(MIN_PPS, self.viewport().width() * 1000.0 / self.duration_ms * 0.9)

    def zoom_by(self, factor: float, anchor_x: float | None = None) -> None:
        self.set_zoom(self.pps * factor, anchor_x)

    def fit_all(self) -> None:
        self.set_zoom(self.viewport().width() * 1000.0 / self.duration_ms, 0)
        self.horizontalScrollBar().setValue(0)

    def ensure_visible(self, ms: int, margin_px: int = 40) -> None:
        x = self.x_of(ms)
        if not margin_px <= x <= self.viewport().width() - margin_px:
            self.horizontalScrollBar().setValue(round(ms / self.ms_per_px - margin_px))

    def set_playhead(self, ms: int, follow: bool = True) -> None:
        old_x, self.playhead_ms = self.x_of(self.playhead_ms), int(ms)
        if follow:
            self.ensure_visible(self.playhead_ms)
        h = self.viewport().height()
        for x in (old_x, self.x_of(self.playhead_ms)):  # repaint only the two thin strips
            self.viewport().update(int(x) - 2, 0, 5, h)

    def set_current(self, index: int) -> None:
        if index != self.current:
            self.current = index
            self.viewport().update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        mods = event.modifiers()
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.MetaModifier):
            degrees = event.angleDelta().y() / 8 or event.pixelDelta().y() / 4
            self.zoom_by(WHEEL_ZOOM_PER_DEGREE ** degrees, event.position().x())
        else:  # trackpads scroll both ways; a mouse wheel's vertical turns scroll in time
            pixels, angle = event.pixelDelta(), event.angleDelta()
            dx = (pixels.x() or pixels.y()) if not pixels.isNull() else (angle.x() or angle.y()) // 2
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - dx)
        event.accept()

    def event(self, event: QEvent) -> bool:
        if isinstance(event, QNativeGestureEvent) and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self.zoom_by(1.0 + event.value(), event.position().x())  # trackpad pinch
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, bar = event.key(), self.horizontalScrollBar()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(KEY_ZOOM, self.x_of(self.playhead_ms))
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / KEY_ZOOM, self.x_of(self.playhead_ms))
        elif key == Qt.Key.Key_0:
            self.fit_all()
        elif key == Qt.Key.Key_Left:
            bar.setValue(bar.value() - bar.singleStep())
        elif key == Qt.Key.Key_Right:
            bar.setValue(bar.value() + bar.singleStep())
        else:
            super().keyPressEvent(event)

    # -- mouse: seek, select, drag edges ---------------------------------------------------
    def edge_at(self, x: float) -> tuple[int, str] | None:
        first, last = self.visible_range()
        best: tuple[float, int, str] | None = None
        for i in range(first, last):
            seg = self.segments[i]
            for which, ms in (("start", seg.start_ms), ("end", seg.end_ms)):
                d = abs(self.x_of(ms) - x)
                if d <= EDGE_GRAB_PX and (best is None or d < best[0]):
                    best = (d, i, which)
        return (best[1], best[2]) if best else None

    def segment_at(self, x: float) -> int:
        ms = self.ms_at(x)
        i = bisect.bisect_right(self._ends, ms)
        if i < len(self.segments) and self.segments[i].start_ms <= ms:
            return i
        return -1

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        x = event.position().x()
        edge = self.edge_at(x) if event.position().y() > RULER_PX else None
        if edge is not None:
            self._drag = (edge[0], edge[1], object())
            self._drag_words = word_boundaries(self.segments, edge[0])
            self.segment_clicked.emit(edge[0])
            return
        index = self.segment_at(x)
        if index >= 0:
            self.segment_clicked.emit(index)
        self.seek_requested.emit(self.ms_at(x))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        x = event.position().x()
        if self._drag is None:
            grab = self.edge_at(x) is not None and event.position().y() > RULER_PX
            shape = Qt.CursorShape.SizeHorCursor if grab else Qt.CursorShape.ArrowCursor
            self.viewport().setCursor(shape)
            return
        index, which, gesture = self._drag
        ms = self.snapped_ms(index, self.ms_at(x), event.modifiers())
        edit = SetTimes(index, start_ms=ms) if which == "start" else SetTimes(index, end_ms=ms)
        with contextlib.suppress(EditError):  # refused: the edge stays where it last was
            self.undo.push(edit, gesture=gesture)

    def snapped_ms(self, index: int, ms: int, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> int:
        if modifiers & Qt.KeyboardModifier.AltModifier:  # ⌥/Alt: place freely
            return ms
        words = self._drag_words if self._drag is not None else word_boundaries(self.segments, index)
        return snap(ms, words + silence_edges(self.peaks, ms), SNAP_PX * self.ms_per_px)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.segment_at(event.position().x())
        if index >= 0:
            self.segment_activated.emit(index)

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        pal = self.palette()
        rect = self.viewport().rect()
        painter.fillRect(event.rect(), pal.color(QPalette.ColorRole.Base))
        self._paint_blocks(painter, pal, rect.height())
        self._paint_waveform(painter, pal, rect.width(), rect.height())
        if self.decorate is not None:
            self.decorate(painter, *self.visible_range(), RULER_PX + 1, rect.height() - 1)
        self._paint_ruler(painter, pal, rect.width())
        x = self.x_of(self.playhead_ms)
        painter.setPen(QPen(QColor(230, 60, 60), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, rect.height()))
        painter.end()

    def _paint_blocks(self, painter: QPainter, pal: QPalette, height: int) -> None:
        first, last = self.visible_range()
        if first >= last:
            return
        accent, paper = pal.color(QPalette.ColorRole.Highlight), pal.color(QPalette.ColorRole.Base)
        # Opaque mixes instead of alpha: blending thousands of rectangles is what costs.
        colors = {"plain": _mix(accent, paper, 0.18), "warn": _mix(QColor(235, 150, 30), paper, 0.28),
                  "current": _mix(accent, paper, 0.38)}
        top, h = RULER_PX + 1, height - RULER_PX - 2
        view, mpp = self.view_start_ms, self.ms_per_px
        xs0 = (self._starts_np[first:last] - view) / mpp  # vectorised: thousands fit when zoomed out
        xs1 = (self._ends_np[first:last] - view) / mpp
        narrow = (xs1 - xs0) < 4
        kinds = np.zeros(last - first, dtype=np.int8)  # 0 plain, 1 warn, 2 current
        for i in self.warned:
            if first <= i < last:
                kinds[i - first] = 1
        if first <= self.current < last:
            kinds[self.current - first] = 2
        width = self.viewport().width()
        painter.setPen(Qt.PenStyle.NoPen)
        for kind, name in enumerate(("plain", "warn", "current")):
            rects = [QRectF(x0, top, x1 - x0, h) for x0, x1 in _runs(xs0[narrow & (kinds == kind)],
                                                                     xs1[narrow & (kinds == kind)], width)]
            chosen = ~narrow & (kinds == kind)
            rects += [QRectF(x0, top, x1 - x0, h) for x0, x1 in zip(xs0[chosen].tolist(), xs1[chosen].tolist(),
                                                                      strict=True)]
            if rects:
                painter.setBrush(colors[name])
                painter.drawRects(rects)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        wide = np.flatnonzero(~narrow).tolist()
        text_color, fm = pal.color(QPalette.ColorRole.Text), painter.fontMetrics()
        edge_pen = QPen(accent.darker(130), 1)
        for k in wide:
            x0, x1 = float(xs0[k]), float(xs1[k])
            painter.setPen(edge_pen)
            painter.drawLine(QPointF(x0, top), QPointF(x0, top + h))
            painter.drawLine(QPointF(x1, top), QPointF(x1, top + h))
            if x1 - x0 > 24:
                painter.setPen(text_color)
                label = fm.elidedText(self.segments[first + k].text.strip(), Qt.TextElideMode.ElideRight,
                                      int(x1 - x0 - 8))
                painter.drawText(QRectF(x0 + 4, top + 2, x1 - x0 - 8, fm.height()), label)

    def _paint_waveform(self, painter: QPainter, pal: QPalette, width: int, height: int) -> None:
        if self.peaks is None:
            return
        start = self.view_start_ms
        piece = self.peaks.range(start, start + width * self.ms_per_px, self.pps)
        n = len(piece.mins)
        if n == 0:
            return
        xs = (piece.start_ms + np.arange(n) * piece.bucket_ms - start) / self.ms_per_px
        cols = np.floor(xs).astype(np.int64)
        firsts = np.concatenate(([0], np.flatnonzero(np.diff(cols)) + 1))
        mins = np.minimum.reduceat(piece.mins, firsts)
        maxs = np.maximum.reduceat(piece.maxs, firsts)
        x = cols[firsts]
        bucket_px = max(1.0, piece.bucket_ms / self.ms_per_px)
        mid = RULER_PX + (height - RULER_PX) / 2
        half = (height - RULER_PX) / 2 - 4
        tops = mid - np.clip(maxs, -1, 1) * half
        bottoms = mid - np.clip(mins, -1, 1) * half
        heights = np.maximum(bottoms - tops, 1.0)
        # Opaque colour and thin lines: blended rectangles cost the raster engine 20x more.
        color = _mix(pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base), 0.6)
        if bucket_px <= 1.5:
            painter.setPen(QPen(color, 0))
            painter.drawLines([QLineF(float(a) + 0.5, float(b), float(a) + 0.5, float(b + c))
                               for a, b, c in zip(x, tops, heights, strict=True)])
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRects([QRectF(float(a), float(b), bucket_px, float(c))
                           for a, b, c in zip(x, tops, heights, strict=True)])
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_ruler(self, painter: QPainter, pal: QPalette, width: int) -> None:
        painter.fillRect(QRectF(0, 0, width, RULER_PX), pal.color(QPalette.ColorRole.Window))
        step = next((s for s in TICK_STEPS_MS if s / self.ms_per_px >= MIN_TICK_PX), TICK_STEPS_MS[-1])
        start = self.view_start_ms
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        t = int(start // step) * step
        end = start + width * self.ms_per_px
        while t <= end:
            x = self.x_of(t)
            painter.drawLine(QPointF(x, RULER_PX - 5), QPointF(x, RULER_PX))
            painter.drawText(QPointF(x + 3, RULER_PX - 6), format_ms(t, millis=step < 1000))
            t += step


def _mix(ink: QColor, paper: QColor, share: float) -> QColor:
    """`ink` laid over `paper` at `share` opacity, as one opaque colour."""
    return QColor(round(ink.red() * share + paper.red() * (1 - share)),
                  round(ink.green() * share + paper.green() * (1 - share)),
                  round(ink.blue() * share + paper.blue() * (1 - share)))


def _runs(xs0: np.ndarray, xs1: np.ndarray, width: int) -> list[tuple[float, float]]:
    """Blocks a few pixels wide merged into the pixel runs they cover: at a 2-hour zoom,
    thousands of blocks become a handful of rectangles."""
    if len(xs0) == 0:
        return []
    a = np.clip(np.floor(xs0).astype(np.int64), 0, width)
    b = np.clip(np.maximum(np.ceil(xs1).astype(np.int64), a + 1), 0, width)
    cover = np.zeros(width + 1, dtype=np.int32)
    np.add.at(cover, a, 1)
    np.add.at(cover, b, -1)
    filled = np.cumsum(cover)[:width] > 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], filled.astype(np.int8), [0]))))
    return [(float(s), float(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)]
