"""Renders stenogram.svg to the PNG sizes an app icon needs (16 … 1024 px).

Run after editing the SVG: `.venv/bin/python resources/make_icons.py`. Qt's own SVG renderer
draws them, so no other tool is needed; the PNGs are committed next to the SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (16, 32, 64, 128, 256, 512, 1024)  # px; the macOS iconset sizes (@1x and @2x)


def render(svg: Path, out_dir: Path) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out_dir / f"stenogram-{size}.png"
        image.save(str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in render(HERE / "stenogram.svg", HERE / "icons"):
        print(p.relative_to(HERE))  # noqa: T201
