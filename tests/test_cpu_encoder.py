"""The numpy encoder used on a CPU computes MLX's encoder, weight for weight."""

from __future__ import annotations

import numpy as np
import pytest

from stenogram.core import vector_kernels
from stenogram.core.cpu_encoder import NumpyEncoder, _gelu, _layer_norm
from stenogram.core.log_mel import compute_log_mel
from stenogram.core.media import load_audio


@pytest.fixture(params=[True, False], ids=["C exp and GELU", "numpy"])
def vector(request, monkeypatch):
    """The encoder's exp and GELU by vector_kernels (where they run) or by numpy."""
    if request.param and not vector_kernels.available():
        pytest.skip("the vector kernels do not run here")
    monkeypatch.setattr(vector_kernels, "available", lambda: request.param)
    return request.param


def test_numpy_encoder_matches_mlx_on_real_speech(tiny_en, shared_audio, vector):
    import mlx.core as mx

    from stenogram.core.model_loading import load_whisper

    model = load_whisper(tiny_en, "float32")
    mel = compute_log_mel(load_audio(shared_audio / "jfk.flac")).window(0, 1100)
    expected = np.array(model.encoder(mx.array(mel[None])))[0]
    actual = NumpyEncoder(model.encoder)(mel)
    assert actual.shape == expected.shape == (1500, 384)
    assert np.abs(actual - expected).max() < 1e-3 * np.abs(expected).max()


def test_the_engine_uses_it_on_a_cpu_unless_told_not_to(tiny_en, monkeypatch):
    from stenogram.core.whisper_runtime import MLX_ENCODER_ENV, WhisperRuntime, uses_gpu

    if uses_gpu():
        assert WhisperRuntime(tiny_en)._cpu_encoder is None  # Metal keeps MLX's encoder
        return
    assert isinstance(WhisperRuntime(tiny_en)._cpu_encoder, NumpyEncoder)
    monkeypatch.setenv(MLX_ENCODER_ENV, "1")
    assert WhisperRuntime(tiny_en)._cpu_encoder is None


def test_a_fitted_input_is_the_start_of_a_full_window_on_both_encoders(tiny_en, shared_audio):
    """A short input takes the first positions, so both encoders agree on it too."""
    import mlx.core as mx

    from stenogram.core.encoder_input import FIT_MARGIN_FRAMES, encoder_frames
    from stenogram.core.model_loading import load_whisper
    from stenogram.core.whisper_runtime import _run_encoder

    model = load_whisper(tiny_en, "float32")
    mel = compute_log_mel(load_audio(shared_audio / "jfk.flac")).window(0, 1100)
    frames = encoder_frames(1100, FIT_MARGIN_FRAMES)
    assert frames == 1300  # 11 s of audio, a 2 s margin, whole seconds
    expected = np.array(_run_encoder(model.encoder, mx.array(mel[None, :frames])))[0]
    actual = NumpyEncoder(model.encoder)(mel[:frames])
    assert actual.shape == expected.shape == (650, 384)
    assert np.abs(actual - expected).max() < 1e-3 * np.abs(expected).max()


def test_rows_split_over_threads_give_the_single_thread_features(tiny_en, shared_audio):
    """Split by rows (single-threaded BLAS in each thread) or not, the same encoder."""
    from stenogram.core.cpu_threads import _openblas
    from stenogram.core.model_loading import load_whisper

    encoder = NumpyEncoder(load_whisper(tiny_en, "float32").encoder)
    mel = compute_log_mel(load_audio(shared_audio / "jfk.flac")).window(0, 1100)
    one = encoder(mel, threads=1)
    split = encoder(mel, threads=3)  # uneven ranges: 500 rows each, conv1's 3000 by 1000
    assert split.shape == one.shape == (1500, 384)
    assert np.abs(split - one).max() < 1e-5 * np.abs(one).max()
    if _openblas() is not None:
        assert not np.array_equal(split, one)  # the split path ran (its sums round differently)


def test_gelu_is_the_exact_erf_gelu_to_float32_precision(vector):
    import math

    x = np.concatenate([np.linspace(-12, 12, 200_001), [0, 1e-30, -1e-30, 40, -40]]).astype(np.float32)
    exact = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    got = _gelu(x.reshape(2, -1).copy()).reshape(-1).astype(np.float64)
    relative = np.abs(got - exact) / np.maximum(np.abs(exact), 1e-37)
    assert relative[np.abs(x) <= 6].max() < 2e-6  # negative inputs too: no 1 + erf cancelling
    assert relative[np.abs(x) > 6].max() < 1e-4  # where x * P(X > |x|) is below 6e-9
    strided = np.arange(-3, 3, 0.25, dtype=np.float32).reshape(4, 6)[:, ::2]
    assert np.allclose(_gelu(strided.copy()), _gelu(np.ascontiguousarray(strided)), rtol=0, atol=0)


def test_layer_norm_keeps_any_leading_shape():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8)).astype(np.float32) * 5 + 3
    weight, bias = rng.standard_normal(8).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * weight + bias
    assert np.allclose(_layer_norm(x, weight, bias), expected, atol=1e-5)
    assert np.allclose(_layer_norm(x[:, 1], weight, bias), expected[:, 1], atol=1e-5)


def test_split_rows_covers_every_row_once_and_raises_a_range_error():
    import pytest

    from stenogram.core.cpu_threads import split_rows

    seen = np.zeros(1001, dtype=int)

    def mark(start, stop):
        seen[start:stop] += 1
        split_rows(stop - start, lambda a, b: None, parts=4)  # nested: runs inline

    split_rows(len(seen), mark, parts=4)
    assert (seen == 1).all()

    def fail(start, stop):
        if start > 0:
            raise ValueError("range failed")

    with pytest.raises(ValueError, match="range failed"):
        split_rows(10, fail, parts=2)


def test_single_threaded_blas_restores_the_thread_count():
    from stenogram.core.cpu_threads import _openblas, single_threaded_blas

    blas = _openblas()
    if blas is None:
        with single_threaded_blas() as done:
            assert done is False
        return
    _, get_threads = blas
    before = get_threads()
    with single_threaded_blas() as done, single_threaded_blas():
        assert done is True
        assert get_threads() == 1
    assert get_threads() == before
