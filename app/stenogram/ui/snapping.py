"""Where a dragged segment edge likes to land: word boundaries and the edges of silences.

Qt-free. The timeline asks for targets near the pointer and snaps when one is within a few
pixels; the core's SetTimes still clamps the result to the neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stenogram.core.transcript import Segment

SILENCE_SEARCH_MS = 3000  # look for quiet this far either side of the pointer
SILENCE_FRACTION = 0.08  # a bucket is quiet below this share of the loudest nearby bucket
MIN_SILENCE_MS = 120  # shorter dips are between syllables, not pauses


def word_boundaries(segments: Sequence[Segment], index: int) -> list[int]:
    """Word starts and ends of segment `index` and its neighbours."""
    out: list[int] = []
    for i in (index - 1, index, index + 1):
        if 0 <= i < len(segments):
            seg = segments[i]
            out += [seg.start_ms, seg.end_ms]
            for w in seg.words:
                out += [w.start_ms, w.end_ms]
    return out


def silence_edges(peaks, around_ms: int) -> list[int]:
    """Start and end times of pauses near `around_ms`, from waveform peaks (None: no waveform)."""
    if peaks is None or not peaks.levels:
        return []
    level = peaks.levels[0]
    piece = peaks.range(around_ms - SILENCE_SEARCH_MS, around_ms + SILENCE_SEARCH_MS, 1000 / level.bucket_ms)
    if len(piece.maxs) == 0:
        return []
    loud = np.maximum(np.abs(piece.mins), np.abs(piece.maxs))
    quiet = loud < max(float(loud.max()) * SILENCE_FRACTION, 1e-4)
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [len(quiet)]])
    out: list[int] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if quiet[a] and (b - a) * piece.bucket_ms >= MIN_SILENCE_MS:
            out += [round(piece.start_ms + a * piece.bucket_ms), round(piece.start_ms + b * piece.bucket_ms)]
    return out


def snap(ms: int, targets: Sequence[int], tolerance_ms: float) -> int:
    """The nearest target within tolerance, else `ms` unchanged."""
    best = min(targets, key=lambda t: abs(t - ms), default=None)
    if best is not None and abs(best - ms) <= tolerance_ms:
        return int(best)
    return ms
