"""The system clipboard behind the core's ``Clipboard`` protocol (``core.dictation``)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication


class QtClipboard:
    """``set_text`` puts text on the system clipboard; ``text()`` reads it back."""

    def set_text(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)

    def text(self) -> str:
        return QGuiApplication.clipboard().text()
