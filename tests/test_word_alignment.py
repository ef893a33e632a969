"""Word times on a CPU (core/word_alignment.py) are mlx_whisper's: the same median filter, the
same path through the same attention, and token probabilities at least as exact."""

from __future__ import annotations

import numpy as np
import pytest

from stenogram.core import vector_kernels
from stenogram.core.log_mel import compute_log_mel
from stenogram.core.media import load_audio
from stenogram.core.word_alignment import median_filter


@pytest.mark.parametrize("width", [3, 7, 9])
def test_the_median_filter_is_mlx_whispers(width: int):
    from mlx_whisper.timing import median_filter as mlx_median_filter

    x = np.random.default_rng(width).standard_normal((4, 30, 200)).astype(np.float32)
    x[0, 0, :50] = 1.5  # runs of equal values
    assert np.array_equal(median_filter(x, width), mlx_median_filter(x, width))
    short = x[..., : width // 2]
    assert median_filter(short, width) is short  # too short to filter: as it is


@pytest.mark.skipif(not vector_kernels.available(), reason="the vector kernels do not run here")
def test_words_fall_where_mlx_whisper_puts_them(transcriber, tiny_en, shared_audio):
    from stenogram.core import word_alignment
    from stenogram.core.whisper_runtime import _NO_MEL, _FeaturesAsAudio

    runtime = transcriber.load(str(tiny_en))
    mel = compute_log_mel(load_audio(shared_audio / "jfk.flac"))
    features = runtime.encode(mel.window(0, 1100))
    tokenizer = runtime.tokenizer("en", "transcribe")
    text = tokenizer.encode(" And so my fellow Americans, ask not what your country can do for you")
    model = _FeaturesAsAudio(runtime.model, features)
    word_alignment.use_in_mlx_whisper()  # so that mlx_whisper's own is kept aside for this
    theirs = word_alignment._MLX_FIND_ALIGNMENT(model, tokenizer, text, _NO_MEL, 1100)
    ours = word_alignment.find_alignment(model, tokenizer, text, _NO_MEL, 1100)
    assert len(ours) == len(theirs) == 15  # 14 words and the comma
    assert [(w.word, w.start, w.end) for w in ours] == [(w.word, w.start, w.end) for w in theirs]
    assert ours[0].word == " And" and ours[0].start < 0.5
    assert [w for w in ours if w.word == " you"][-1].end > 6.0  # the last words near 7 s
    # mlx_whisper's CPU softmax over the vocabulary is off by up to ~2.5e-4; ours by ~1e-6
    np.testing.assert_allclose([w.probability for w in ours], [w.probability for w in theirs], atol=1e-3)


@pytest.mark.skipif(not vector_kernels.available(), reason="the vector kernels do not run here")
def test_keys_and_values_kept_from_the_decode_give_the_same_words(transcriber, tiny_en, shared_audio):
    """A batch's decode hands each window's cross-attention keys and values to its word
    alignment, which then does not compute them again: the same words at the same times."""
    import mlx.core as mx

    from stenogram.core.whisper_runtime import _NO_MEL, _FeaturesAsAudio
    from stenogram.core.word_alignment import find_alignment

    runtime = transcriber.load(str(tiny_en))
    mel = compute_log_mel(load_audio(shared_audio / "jfk.flac"))
    features = runtime.encode(mel.window(0, 1100))
    tokenizer = runtime.tokenizer("en", "transcribe")
    text = tokenizer.encode(" And so my fellow Americans, ask not what your country can do for you")
    other = runtime.encode(mel.window(200, 900))
    decode = runtime.model.numpy_decoder.session()  # a batch of two windows, this one second
    decode.start(np.array([[tokenizer.sot]] * 2, dtype=np.int32), mx.concatenate([other, features]), (0,))
    kept = decode.audio_keys_values(1)
    computed = find_alignment(_FeaturesAsAudio(runtime.model, features), tokenizer, text, _NO_MEL, 1100)
    reused = find_alignment(_FeaturesAsAudio(runtime.model, features, kept), tokenizer, text, _NO_MEL, 1100)
    assert [(w.word, w.start, w.end) for w in reused] == [(w.word, w.start, w.end) for w in computed]
    np.testing.assert_allclose([w.probability for w in reused], [w.probability for w in computed], rtol=1e-5)
