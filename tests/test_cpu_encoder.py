"""The numpy encoder used on a CPU computes MLX's encoder, weight for weight."""

from __future__ import annotations

import numpy as np

from stenogram.core.cpu_encoder import NumpyEncoder
from stenogram.core.log_mel import compute_log_mel
from stenogram.core.media import load_audio


def test_numpy_encoder_matches_mlx_on_real_speech(tiny_en, shared_audio):
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

    from stenogram.core.encoder_input import encoder_frames
    from stenogram.core.model_loading import load_whisper
    from stenogram.core.whisper_runtime import _run_encoder

    model = load_whisper(tiny_en, "float32")
    mel = compute_log_mel(load_audio(shared_audio / "jfk.flac")).window(0, 1100)
    frames = encoder_frames(1100, fit=True)
    assert frames == 1300  # 11 s of audio, a 2 s margin, whole seconds
    expected = np.array(_run_encoder(model.encoder, mx.array(mel[None, :frames])))[0]
    actual = NumpyEncoder(model.encoder)(mel[:frames])
    assert actual.shape == expected.shape == (650, 384)
    assert np.abs(actual - expected).max() < 1e-3 * np.abs(expected).max()
