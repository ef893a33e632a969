"""Waveform peaks: one pass, every level consistent with a brute-force reduction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stenogram.core.media import SAMPLE_RATE, NotMediaError, load_audio
from stenogram.core.waveform import BUCKET_SIZES, compute_peaks


def brute(x: np.ndarray, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    starts = range(0, len(x), bucket)
    return (
        np.array([x[i : i + bucket].min() for i in starts], np.float32),
        np.array([x[i : i + bucket].max() for i in starts], np.float32),
    )


def test_levels_match_brute_force_for_odd_lengths() -> None:
    x = np.random.default_rng(0).standard_normal(3 * 16384 + 777).astype(np.float32)
    peaks = compute_peaks(x)
    assert peaks.samples == len(x)
    assert [lv.bucket for lv in peaks.levels] == list(BUCKET_SIZES)
    for level in peaks.levels:
        mins, maxs = brute(x, level.bucket)
        assert level.mins.dtype == np.float32 and level.maxs.dtype == np.float32
        np.testing.assert_array_equal(level.mins, mins)
        np.testing.assert_array_equal(level.maxs, maxs)


def test_chunks_of_any_size_give_the_same_peaks() -> None:
    x = np.random.default_rng(1).standard_normal(50000).astype(np.float32)
    cuts = [0, 1, 300, 301, 9000, 20000, 49999, 50000]
    chunked = compute_peaks(x[a:b] for a, b in zip(cuts, cuts[1:], strict=False))
    whole = compute_peaks(x)
    for a, b in zip(chunked.levels, whole.levels, strict=True):
        np.testing.assert_array_equal(a.mins, b.mins)
        np.testing.assert_array_equal(a.maxs, b.maxs)


def test_peaks_from_a_file_equal_peaks_from_its_audio(shared_audio: Path) -> None:
    path = shared_audio / "jfk.flac"
    from_file = compute_peaks(path)
    audio = load_audio(path)
    assert from_file.samples == len(audio) and from_file.duration_ms == 11000
    for a, b in zip(from_file.levels, compute_peaks(audio).levels, strict=True):
        np.testing.assert_array_equal(a.mins, b.mins)
        np.testing.assert_array_equal(a.maxs, b.maxs)
    # Speech is louder where Kennedy speaks ("ask not ...", ~7-9 s) than in the pause before 0.3 s.
    coarse = from_file.levels[-1]
    assert coarse.maxs[7] > 10 * max(coarse.maxs[0], 1e-3) or coarse.maxs[7] > 0.3


def test_range_picks_the_level_for_the_zoom() -> None:
    x = np.zeros(60 * SAMPLE_RATE, np.float32)
    x[10 * SAMPLE_RATE] = 0.9  # one click at 10 s
    peaks = compute_peaks(x)
    # 1 px/s: 16,000 samples per pixel -> the 4,096-sample level (16,384 would be coarser than a pixel).
    assert peaks.level_for(1.0).bucket == 4096
    assert peaks.level_for(100.0).bucket == 256  # zoomed past the finest level: use the finest
    assert peaks.level_for(15.0).bucket == 1024
    sl = peaks.range(9000, 11000, 15.0)
    assert sl.bucket_ms == 64.0 and sl.start_ms <= 9000 < sl.start_ms + sl.bucket_ms
    assert len(sl.mins) == len(sl.maxs) >= 2000 / 64
    k = int(np.argmax(sl.maxs))
    assert sl.start_ms + k * sl.bucket_ms <= 10000 < sl.start_ms + (k + 1) * sl.bucket_ms
    assert sl.maxs[k] == pytest.approx(0.9)
    # Ranges are clamped to the audio.
    assert (
        len(peaks.range(59000, 90000, 1.0).mins) == len(peaks.levels[2].mins) - 59000 * 16 // 4096
    )
    assert len(peaks.range(70000, 90000, 1.0).mins) == 0
    with pytest.raises(ValueError):
        peaks.level_for(0)


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        compute_peaks(np.zeros(10, np.float32), bucket_sizes=(256, 1000))
    text = tmp_path / "notes.txt"
    text.write_text("no sound here\n" * 10)
    with pytest.raises(NotMediaError):
        compute_peaks(text)
    empty = compute_peaks(np.zeros(0, np.float32))
    assert empty.samples == 0 and all(len(lv.mins) == 0 for lv in empty.levels)
