"""The decoder's vocabulary projection in numpy (CPU backend) is MLX's, value for value."""

from __future__ import annotations

import numpy as np
import pytest

from stenogram.core import half_matrix


@pytest.mark.parametrize("half", [True, False], ids=["fp16 kernel", "fp32 numpy"])
def test_numpy_projection_matches_mlx_and_holds_the_only_copy(tiny_en, half, monkeypatch):
    import mlx.core as mx

    if half and not half_matrix.available():
        pytest.skip("the fp16 kernel does not run here")
    monkeypatch.setattr(half_matrix, "available", lambda: half)
    from stenogram.core.cpu_decoder import NumpyDecoder
    from stenogram.core.model_loading import load_whisper
    from stenogram.core.vocab_projection import NumpyVocabProjection, project_vocabulary_in_numpy

    model = load_whisper(tiny_en, "float32")
    hidden = mx.random.normal((3, 2, model.dims.n_text_state), key=mx.random.key(1))
    tokens = mx.array([[50257, 50362], [440, 13]])
    expected = np.array(model.decoder.token_embedding.as_linear(hidden))
    expected_rows = np.array(model.decoder.token_embedding(tokens))
    project_vocabulary_in_numpy(model)
    embedding = model.decoder.token_embedding
    actual = np.array(embedding.as_linear(hidden))
    assert isinstance(embedding, NumpyVocabProjection)
    assert actual.shape == expected.shape == (3, 2, model.dims.n_vocab)
    assert np.abs(actual - expected).max() < 1e-4 * np.abs(expected).max()
    assert np.array_equal(np.array(embedding(tokens)), expected_rows)  # lookups unchanged
    assert embedding.weight.size == 0  # MLX's 80 MB copy is gone
    assert embedding.projection.shape == (model.dims.n_text_state, model.dims.n_vocab)
    assert isinstance(embedding.projection, half_matrix.HalfMatrix) == half
    bytes_per_weight = embedding.projection.nbytes / (model.dims.n_text_state * model.dims.n_vocab)
    assert round(bytes_per_weight) == (2 if half else 4)  # fp16 where it runs: half the memory
    assert NumpyDecoder(model.decoder).projection is embedding.projection  # one copy for both


def test_the_cpu_runtime_uses_it_unless_told_not_to(tiny_en, monkeypatch):
    from stenogram.core.vocab_projection import NumpyVocabProjection
    from stenogram.core.whisper_runtime import MLX_ENCODER_ENV, WhisperRuntime, uses_gpu

    runtime = WhisperRuntime(tiny_en)
    uses_numpy = isinstance(runtime.model.decoder.token_embedding, NumpyVocabProjection)
    assert uses_numpy == (not uses_gpu())  # a Metal GPU keeps MLX's projection
    monkeypatch.setenv(MLX_ENCODER_ENV, "1")
    assert not isinstance(WhisperRuntime(tiny_en).model.decoder.token_embedding, NumpyVocabProjection)
