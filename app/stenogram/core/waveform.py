"""Waveform peaks for the timeline: min/max per bucket at a few zoom levels, one decoding pass.

The finest level is reduced straight from streamed 16 kHz audio; each coarser level is reduced
from the finest one, so a 3-hour file is decoded once and never held whole in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stenogram.core.media import SAMPLE_RATE, DecodeReport, stream_audio

# Samples per bucket at 16 kHz: 16 ms, 64 ms, 256 ms, 1.024 s. Each divides the next.
BUCKET_SIZES: tuple[int, ...] = (256, 1024, 4096, 16384)
STREAM_CHUNK_S = 60.0  # seconds decoded per step when reading a file


@dataclass(frozen=True)
class PeakLevel:
    """One zoom level: bucket i covers samples [i*bucket, (i+1)*bucket)."""

    bucket: int  # samples per bucket at SAMPLE_RATE
    mins: np.ndarray  # float32, one per bucket
    maxs: np.ndarray  # float32, one per bucket

    @property
    def bucket_ms(self) -> float:
        return self.bucket * 1000 / SAMPLE_RATE


@dataclass(frozen=True)
class PeakSlice:
    """Peaks for a time range: bucket k starts at start_ms + k*bucket_ms."""

    start_ms: float
    bucket_ms: float
    mins: np.ndarray
    maxs: np.ndarray


@dataclass(frozen=True)
class WaveformPeaks:
    samples: int  # length of the audio at SAMPLE_RATE
    levels: tuple[PeakLevel, ...]  # finest first

    @property
    def duration_ms(self) -> int:
        return round(self.samples * 1000 / SAMPLE_RATE)

    def level_for(self, pixels_per_second: float) -> PeakLevel:
        """The coarsest level that still has at least one bucket per pixel."""
        if pixels_per_second <= 0:
            raise ValueError("pixels_per_second must be positive")
        samples_per_pixel = SAMPLE_RATE / pixels_per_second
        fitting = [lv for lv in self.levels if lv.bucket <= samples_per_pixel]
        return fitting[-1] if fitting else self.levels[0]

    def range(self, start_ms: float, end_ms: float, pixels_per_second: float) -> PeakSlice:
        """Peaks covering [start_ms, end_ms) at the level that suits this zoom (clamped to the audio)."""
        level = self.level_for(pixels_per_second)
        n = len(level.mins)
        first = min(n, max(0, int(start_ms * SAMPLE_RATE / 1000) // level.bucket))
        last = min(n, max(first, -(-int(np.ceil(end_ms * SAMPLE_RATE / 1000)) // level.bucket)))
        return PeakSlice(
            start_ms=first * level.bucket_ms,
            bucket_ms=level.bucket_ms,
            mins=level.mins[first:last],
            maxs=level.maxs[first:last],
        )


class _FinestReducer:
    """Min/max per `bucket` samples over a stream of chunks of any length."""

    def __init__(self, bucket: int) -> None:
        self.bucket = bucket
        self.carry = np.zeros(0, dtype=np.float32)  # fewer than `bucket` samples left over
        self.mins: list[np.ndarray] = []
        self.maxs: list[np.ndarray] = []
        self.samples = 0

    def add(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self.samples += len(chunk)
        if len(self.carry):
            chunk = np.concatenate([self.carry, chunk])
        whole = len(chunk) // self.bucket * self.bucket
        if whole:
            blocks = chunk[:whole].reshape(-1, self.bucket)
            self.mins.append(blocks.min(axis=1))
            self.maxs.append(blocks.max(axis=1))
        self.carry = chunk[whole:].copy()

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self.carry):
            self.mins.append(np.array([self.carry.min()], dtype=np.float32))
            self.maxs.append(np.array([self.carry.max()], dtype=np.float32))
        empty = np.zeros(0, dtype=np.float32)
        mins = np.concatenate(self.mins) if self.mins else empty
        maxs = np.concatenate(self.maxs) if self.maxs else empty
        return mins.astype(np.float32, copy=False), maxs.astype(np.float32, copy=False)


def _coarsen(values: np.ndarray, factor: int, reduce: np.ufunc, fill: float) -> np.ndarray:
    pad = -len(values) % factor
    if pad:
        values = np.concatenate([values, np.full(pad, fill, dtype=np.float32)])
    return reduce.reduce(values.reshape(-1, factor), axis=1)


def compute_peaks(
    source: str | Path | np.ndarray | Iterable[np.ndarray],
    bucket_sizes: tuple[int, ...] = BUCKET_SIZES,
    *,
    report: DecodeReport | None = None,
) -> WaveformPeaks:
    """Peaks from a media path (streamed), a 16 kHz mono array, or an iterable of such chunks.

    `bucket_sizes` must be increasing and each must divide the next. Media errors from
    `stream_audio` propagate; `report` receives its loss report."""
    sizes = tuple(bucket_sizes)
    if (
        not sizes
        or any(b <= 0 for b in sizes)
        or any(b % a for a, b in zip(sizes, sizes[1:], strict=False))
    ):
        raise ValueError("bucket_sizes must be positive, increasing, each dividing the next")
    if isinstance(source, (str, Path)):
        chunks: Iterable[np.ndarray] = stream_audio(
            source, chunk_seconds=STREAM_CHUNK_S, report=report
        )
    elif isinstance(source, np.ndarray):
        chunks = (source,)
    else:
        chunks = source
    finest = _FinestReducer(sizes[0])
    for chunk in chunks:
        finest.add(chunk)
    mins, maxs = finest.finish()
    levels = [PeakLevel(sizes[0], mins, maxs)]
    for size in sizes[1:]:
        prev = levels[-1]
        factor = size // prev.bucket
        levels.append(
            PeakLevel(
                size,
                _coarsen(prev.mins, factor, np.minimum, np.inf),
                _coarsen(prev.maxs, factor, np.maximum, -np.inf),
            )
        )
    return WaveformPeaks(samples=finest.samples, levels=tuple(levels))
