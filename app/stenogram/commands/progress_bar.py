"""A one-line progress bar on stderr: redrawn in place on a terminal, quiet in a log."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 28


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = time.monotonic()

    def update(self, fraction: float) -> None:
        if not self.interactive:
            return
        filled = round(BAR_WIDTH * fraction)
        bar = "█" * filled + "·" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{self.label} {bar} {fraction:4.0%} {self._remaining(fraction)}\x1b[K")
        self.stream.flush()

    def finish(self, message: str) -> None:
        if self.interactive:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"{self.label}: {message}\n")
        self.stream.flush()

    def _remaining(self, fraction: float) -> str:
        elapsed = time.monotonic() - self.started
        if fraction <= 0.02 or elapsed < 1:
            return ""
        left = elapsed * (1 - fraction) / fraction
        return f"{int(left // 60)}:{int(left % 60):02d} left"
