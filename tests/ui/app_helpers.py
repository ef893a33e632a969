"""Helpers shared by the app tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations


def wait_for_jobs(qtbot, window, count: int, timeout_ms: int = 120_000) -> None:
    qtbot.waitUntil(lambda: sum(j.status.finished for j in window.jobs) >= count, timeout=timeout_ms)


def synthetic_transcript(n: int = 6, gap_ms: int = 500, media_path: str | None = None):
    """A transcript with words, n segments of four words each."""
    from stenogram.core.transcript import Segment, Transcript, Word

    segments, t = [], 1000
    for i in range(n):
        words = tuple(Word(t + k * 400, t + k * 400 + 350, f" w{i}x{k}", 0.95) for k in range(4))
        segments.append(Segment(t, t + 1550, "".join(w.text for w in words), words))
        t += 1550 + gap_ms
    return Transcript(segments, language="en", media_path=media_path, duration_ms=t + 1000)
