"""The decoder's C attention and token choice (vector_kernels.c) give numpy's answers: attention
over an audio's frames for any rows per audio (beams, a prompt) read in place by an index,
attention over a row's earlier tokens, and the top tokens with their log-probabilities."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from stenogram.core import vector_kernels

needs_kernels = pytest.mark.skipif(not vector_kernels.available(), reason="the vector kernels do not run here")
HEADS, D = 6, vector_kernels.HEAD_DIM


def test_the_kernels_are_built_and_run_here():
    if platform.machine() != "x86_64" or "avx512f" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("the kernels need AVX-512; elsewhere numpy runs")
    assert vector_kernels.available(), "app/stenogram/core/vector_kernels.c is not built: pip install -e ."


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores.astype(np.float64)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


@needs_kernels
@pytest.mark.parametrize("rows", [1, 5, 9, 14])
@pytest.mark.parametrize("n_frames", [1500, 37])  # a last tile of keys left partial either way
def test_cross_attention_matches_numpy(rows: int, n_frames: int):
    rng = np.random.default_rng(rows)
    keys = rng.standard_normal((3, n_frames, HEADS, D), dtype=np.float32)
    values = rng.standard_normal((3, HEADS, n_frames, D), dtype=np.float32)
    audio = np.array([2, 0])  # the queries of two audios, reading the third and the first
    q = rng.standard_normal((2, rows, HEADS, D), dtype=np.float32) * 0.3

    out, raw = vector_kernels.cross_attend(q, vector_kernels.tiled_keys(keys), values, audio, raw_scores=True)

    scores = q.transpose(0, 2, 1, 3) @ keys[audio].transpose(0, 2, 3, 1)  # (audio, head, row, frame)
    expected = (_softmax(scores) @ values[audio]).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(raw, scores, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=2e-6)
    assert vector_kernels.cross_attend(q, vector_kernels.tiled_keys(keys), values, audio)[1] is None


@needs_kernels
@pytest.mark.parametrize("length", [1, 17, 448])
def test_self_attention_matches_numpy(length: int):
    rng = np.random.default_rng(length)
    keys = rng.standard_normal((4, HEADS, 448, D), dtype=np.float32)
    values = rng.standard_normal((4, HEADS, 448, D), dtype=np.float32)
    q = rng.standard_normal((4, HEADS, D), dtype=np.float32) * 0.3

    out = vector_kernels.self_attend(q, keys, values, length)

    scores = (q[:, :, None] @ keys[:, :, :length].swapaxes(-1, -2))[:, :, 0]
    expected = (_softmax(scores)[:, :, None] @ values[:, :, :length])[:, :, 0]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=2e-6)


@needs_kernels
def test_self_attention_over_a_shared_prefix_reads_it_as_each_rows_own():
    """Beams read their audio's prompt, left padding skipped, then their own tokens."""
    rng = np.random.default_rng(7)
    prefix_keys = rng.standard_normal((3, HEADS, 40, D), dtype=np.float32)
    prefix_values = rng.standard_normal((3, HEADS, 40, D), dtype=np.float32)
    keys = rng.standard_normal((4, HEADS, 16, D), dtype=np.float32)
    values = rng.standard_normal((4, HEADS, 16, D), dtype=np.float32)
    q = rng.standard_normal((4, HEADS, D), dtype=np.float32) * 0.3
    audios, firsts = np.array([2, 0]), np.array([5, 5, 0, 0])  # rows 0-1 read audio 2's prompt
    tiled = vector_kernels.tiled_keys(np.ascontiguousarray(prefix_keys[:, :, :37].transpose(0, 2, 1, 3)))
    prefix = vector_kernels.SharedPrefix(tiled, prefix_values, 37, audios, firsts)

    out = vector_kernels.self_attend(q, keys, values, 9, prefix)

    for row in range(4):
        audio, first = audios[row // 2], firsts[row]
        read_keys = np.concatenate([prefix_keys[audio, :, first:37], keys[row, :, :9]], axis=1)
        read_values = np.concatenate([prefix_values[audio, :, first:37], values[row, :, :9]], axis=1)
        expected = (_softmax(q[row, :, None] @ read_keys.swapaxes(-1, -2)) @ read_values)[:, 0]
        np.testing.assert_allclose(out[row], expected, rtol=1e-4, atol=2e-6)
    with pytest.raises(ValueError):  # a padding as long as the prompt leaves nothing to read
        vector_kernels.self_attend(q, keys, values, 9, vector_kernels.SharedPrefix(
            tiled, prefix_values, 37, audios, np.array([37, 0, 0, 0])))


@needs_kernels
@pytest.mark.parametrize("rows", [1, 3, 15])
def test_top_tokens_and_log_probabilities_match_numpy(rows: int):
    rng = np.random.default_rng(rows)
    logits = rng.standard_normal((rows, 51864), dtype=np.float32) * 4
    logits[:, 100:5000] = -np.inf  # suppressed tokens, as the logit filters leave them
    logits[0, 7] = logits[0, 9000] = logits[0].max() + 1  # equal best: the lower id first

    ids, top, log_totals = vector_kernels.logits_top(logits, 6)

    expected_ids = np.argsort(-logits, axis=-1, kind="stable")[:, :6]
    assert ids.tolist() == expected_ids.tolist() and ids[0, :2].tolist() == [7, 9000]
    np.testing.assert_array_equal(top, np.take_along_axis(logits, expected_ids, axis=-1))
    finite = np.where(np.isfinite(logits), logits, -np.inf).astype(np.float64)
    expected_totals = np.log(np.exp(finite - finite.max(-1, keepdims=True)).sum(-1)) + finite.max(-1)
    np.testing.assert_allclose(log_totals, expected_totals, rtol=0, atol=2e-6 * np.abs(expected_totals).max())


@needs_kernels
def test_shapes_the_kernels_do_not_take_are_refused():
    q = np.zeros((1, 1, 2, 32), dtype=np.float32)  # heads of 32: not Whisper's width
    with pytest.raises(ValueError, match="refused"):
        vector_kernels.cross_attend(q, np.zeros((1, 2, 1, 32, 32), np.float32), np.zeros((1, 2, 10, 32), np.float32),
                                  np.zeros(1))
    keys = vector_kernels.tiled_keys(np.zeros((2, 10, HEADS, D), np.float32))
    values, q = np.zeros((2, HEADS, 10, D), np.float32), np.zeros((1, 1, HEADS, D), np.float32)
    with pytest.raises(ValueError, match="wrong shape"):  # an audio the keys do not hold
        vector_kernels.cross_attend(q, keys, values, np.array([2]))
    with pytest.raises(ValueError, match="wrong shape"):  # keys not in the kernel's layout
        vector_kernels.cross_attend(q, np.zeros((2, HEADS, D, 10), np.float32), values, np.array([0]))
    assert keys.shape == (2, HEADS, 1, D, vector_kernels.key_tile())
    with pytest.raises(ValueError, match="refused"):  # more tokens than the cache holds
        vector_kernels.self_attend(np.zeros((1, 1, D), np.float32), np.zeros((1, 1, 8, D), np.float32),
                                 np.zeros((1, 1, 8, D), np.float32), 9)


def test_switched_off_they_are_not_offered(monkeypatch):
    monkeypatch.setattr(vector_kernels, "_kernels", vector_kernels._kernels.fresh())
    monkeypatch.setenv(vector_kernels.DISABLE_ENV, "0")
    assert not vector_kernels.available()
    with pytest.raises(RuntimeError, match="not available"):
        vector_kernels.logits_top(np.zeros((1, 10), dtype=np.float32), 2)


@needs_kernels
@pytest.mark.parametrize("shifted", [True, False])
def test_exp_of_rows_and_their_sums_match_numpy(shifted: bool):
    scores = np.random.default_rng(3).standard_normal((7, 1500), dtype=np.float32) * 8
    scores[0, :5] = -200  # far below the rest: e^-200 is 0 in float32, and stays ~0 here
    x, sums = scores.copy(), np.empty(7, dtype=np.float32)
    vector_kernels.exp_rows(x, shifted, sums)
    shift = scores.max(axis=-1, keepdims=True) if shifted else 0
    expected = np.exp((scores - shift).astype(np.float64))  # the argument as float32 has it
    np.testing.assert_allclose(x, expected, rtol=4e-7, atol=1e-44)
    np.testing.assert_allclose(sums, expected.sum(axis=-1), rtol=1e-6)


@needs_kernels
@pytest.mark.parametrize("rows", [1, 15, 600])  # a decoder step's rows, and an encoder's (split)
def test_layer_norm_matches_numpy(rows: int):
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 384), dtype=np.float32) * 3 + 5  # off-centre, as residuals are
    weight, bias = rng.standard_normal(384, dtype=np.float32), rng.standard_normal(384, dtype=np.float32)
    out = vector_kernels.layer_norm(x[:, None], weight, bias, 1e-5)  # any leading shape
    wide = x.astype(np.float64)
    centred = wide - wide.mean(axis=-1, keepdims=True)
    expected = centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + 1e-5) * weight + bias
    assert out.shape == (rows, 1, 384) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not vector_kernels.dtw_available(), reason="the vector kernels are not built here")
@pytest.mark.parametrize("shape", [(1, 1), (3, 40), (60, 1500), (40, 3)])
def test_time_warping_finds_mlx_whispers_path(shape: tuple[int, int]):
    from mlx_whisper.timing import dtw_cpu

    rng = np.random.default_rng(shape[0])
    for x in (rng.standard_normal(shape).astype(np.float32),
              rng.integers(0, 3, shape).astype(np.float32)):  # many equal costs: the same choice
        expected = dtw_cpu(x.copy())
        actual = vector_kernels.dtw(x)
        assert actual.dtype == np.int64 and actual.tolist() == expected.tolist()


def test_word_times_come_from_it(transcriber, tiny_en, shared_audio, monkeypatch):
    """The aligner's time warping is ours wherever the extension is built (the app's bundle
    has no numba, and plain Python took 0.1 s a window)."""
    if not vector_kernels.dtw_available():
        pytest.skip("the vector kernels are not built here")
    from mlx_whisper import timing

    from stenogram.core.engine import TranscribeOptions

    calls = []
    original = vector_kernels.dtw
    monkeypatch.setattr(vector_kernels, "dtw", lambda x: calls.append(x.shape) or original(x))
    options = TranscribeOptions(model=str(tiny_en), word_timestamps=True)
    words = [w for s in transcriber.transcribe(shared_audio / "jfk.flac", options).segments for w in s.words]
    assert calls and timing.dtw is not None
    assert [w.text.strip(" ,.").lower() for w in words][:4] == ["and", "so", "my", "fellow"]
    assert all(a.end_ms <= b.start_ms + 1 for a, b in zip(words, words[1:]))
