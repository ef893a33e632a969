"""The numpy decoder used on a CPU computes MLX's decoder, step for step, rows and beams alike."""

from __future__ import annotations

import numpy as np
import pytest

from stenogram.core.log_mel import compute_log_mel
from stenogram.core.media import load_audio

SOT_PREV_EN = [50257, 50362]  # tiny.en: start of transcript, no timestamps
WORDS = [[843, 1336, 6868], [290, 523, 616]]  # two different starts of text


@pytest.fixture(scope="module")
def model_and_features(tiny_en, shared_audio):
    import mlx.core as mx

    from stenogram.core.cpu_encoder import NumpyEncoder
    from stenogram.core.cross_attention import prepare_cross_attention
    from stenogram.core.model_loading import load_whisper

    model = load_whisper(tiny_en, "float32")
    prepare_cross_attention(model)  # as the runtime does: the layout beams share
    mel = compute_log_mel(load_audio(shared_audio / "jfk.flac"))
    encoder = NumpyEncoder(model.encoder)
    features = np.stack([encoder(mel.window(0, 3000)), encoder(mel.window(300, 3000))])
    return model, mx.array(features)


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() < 1e-4 * np.abs(expected).max()
    assert (actual.argmax(-1) == expected.argmax(-1)).all()


def _use_kernels(monkeypatch, half: bool, attention: bool) -> None:
    """The decoder's products by the fp16 kernel or numpy, its attention by C or numpy."""
    from stenogram.core import half_matrix, vector_kernels

    if half and not half_matrix.available():
        pytest.skip("the fp16 kernel does not run here")
    if attention and not vector_kernels.available():
        pytest.skip("the vector kernels do not run here")
    monkeypatch.setattr(half_matrix, "available", lambda: half)
    monkeypatch.setattr(vector_kernels, "available", lambda: attention)


KERNELS = pytest.mark.parametrize(
    "half, attention", [(True, True), (True, False), (False, False)],
    ids=["fp16 kernel, C attention", "fp16 kernel, numpy attention", "fp32 numpy"],
)


@KERNELS
def test_prompt_and_steps_match_mlx(model_and_features, half, attention, monkeypatch):
    import mlx.core as mx

    from stenogram.core import half_matrix
    from stenogram.core.cpu_decoder import NumpyDecoder

    _use_kernels(monkeypatch, half, attention)
    model, features = model_and_features
    prompt = np.array([SOT_PREV_EN + WORDS[0], SOT_PREV_EN + WORDS[1]], dtype=np.int32)
    decoder = NumpyDecoder(model.decoder)
    assert decoder.half == half and isinstance(decoder.blocks[0].mlp1[0], half_matrix.HalfMatrix) == half
    assert decoder.kernels == attention
    session = decoder.session()
    first = session.start(prompt, features, (0, prompt.shape[1] - 1))
    expected, cache, _ = model.decoder(mx.array(prompt), features)
    _close(first[:, 1], np.array(expected)[:, -1])
    _close(first[:, 0], np.array(expected)[:, 0])
    for token in (262, 1049, 13):
        last = np.array([token, token + 1], dtype=np.int32)
        actual = session.step(last)
        expected, cache, _ = model.decoder(mx.array(last[:, None]), features, kv_cache=cache)
        _close(actual, np.array(expected)[:, 0])
    assert session.length == prompt.shape[1] + 3


@KERNELS
def test_rows_of_one_audio_and_dropped_audios_decode_as_alone(model_and_features, half, attention, monkeypatch):
    """Beams share their audio's keys and values; reordering rows moves their own caches."""
    from stenogram.core.cpu_decoder import NumpyDecoder

    _use_kernels(monkeypatch, half, attention)
    model, features = model_and_features
    decoder = NumpyDecoder(model.decoder)
    prompt = np.array([SOT_PREV_EN, SOT_PREV_EN], dtype=np.int32)
    beams = decoder.session()
    beams.start(prompt, features, (1,))
    beams.repeat_rows(2)
    beams.step(np.array([843, 290, 616, 843], dtype=np.int32))
    beams.select([3, 2], [1])  # audio 0 is done; audio 1 keeps its two rows, swapped
    after = beams.step(np.array([13, 11], dtype=np.int32))

    alone = decoder.session()
    alone.start(prompt[1:], features[1:], (1,))
    alone.repeat_rows(2)
    alone.step(np.array([616, 843], dtype=np.int32))
    expected = alone.step(np.array([11, 13], dtype=np.int32))
    np.testing.assert_allclose(after, expected[::-1], rtol=0, atol=1e-4)


@KERNELS
def test_rows_padded_to_one_prompt_length_decode_as_alone(model_and_features, half, attention, monkeypatch):
    """Windows with previous texts of different lengths share a batch: a shorter prompt is
    padded on the left, and its row reads neither the padding nor shifted positions."""
    from stenogram.core.cpu_decoder import NumpyDecoder

    _use_kernels(monkeypatch, half, attention)
    model, features = model_and_features
    decoder = NumpyDecoder(model.decoder)
    long_prompt = [50360, 843, 1336, 6868, 290, 523, 616, *SOT_PREV_EN]  # previous text, then the start
    short_prompt = [50360, 1336, *SOT_PREV_EN]
    pad = len(long_prompt) - len(short_prompt)
    rows = np.array([long_prompt, [50256] * pad + short_prompt], dtype=np.int32)
    batch = decoder.session()
    first = batch.start(rows, features, (len(long_prompt) - 2, len(long_prompt) - 1), pads=[0, pad])
    batch.repeat_rows(2)
    steps = [batch.step(np.array([262, 263, 1049, 1050], dtype=np.int32))]
    batch.select([1, 0, 3, 2])  # beams swap rows: their padding goes with them
    steps.append(batch.step(np.array([13, 11, 13, 11], dtype=np.int32)))
    batch.select([2, 3], [1])  # the long prompt's audio is done: the padded rows go on alone
    steps.append(batch.step(np.array([262, 262], dtype=np.int32)))

    for audio, prompt in enumerate((long_prompt, short_prompt)):
        alone = decoder.session()
        alone_first = alone.start(np.array([prompt], dtype=np.int32), features[audio : audio + 1],
                                  (len(prompt) - 2, len(prompt) - 1))
        _close(first[audio], alone_first[0])
        alone.repeat_rows(2)
        tokens = [[262, 263], [1049, 1050]][audio]
        _close(steps[0][2 * audio : 2 * audio + 2], alone.step(np.array(tokens, dtype=np.int32)))
        alone.select([1, 0])
        _close(steps[1][2 * audio : 2 * audio + 2], alone.step(np.array([13, 11], dtype=np.int32)))
    _close(steps[2], alone.step(np.array([262, 262], dtype=np.int32)))


def test_the_runtime_decodes_with_it_on_a_cpu(tiny_en):
    from stenogram.core.cpu_decoder import NumpyDecoder
    from stenogram.core.decoder_session import NUMPY_DECODER_ATTRIBUTE
    from stenogram.core.whisper_runtime import WhisperRuntime, uses_gpu

    model = WhisperRuntime(tiny_en).model
    attached = getattr(model, NUMPY_DECODER_ATTRIBUTE, None)
    assert attached is None if uses_gpu() else isinstance(attached, NumpyDecoder)
    if attached is not None and attached.half:  # its fp16 copies replace MLX's block weights
        block = model.decoder.blocks[0]
        assert block.mlp1.weight.size == 0 and block.attn.query.weight.size == 0
        assert block.cross_attn.key.weight.size > 0  # read for each audio's keys, kept


@pytest.mark.parametrize("beam_size", [None, 3])
def test_mlx_sessions_decode_the_same_text(model_and_features, beam_size, monkeypatch):
    """MLX's decoder (a Mac's GPU path) behind the same loops gives the same tokens."""
    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core.batch_decoding import BatchDecodingTask
    from stenogram.core.beam_search import BeamDecodingTask
    from stenogram.core.cpu_decoder import NumpyDecoder
    from stenogram.core.decoder_session import (
        NUMPY_DECODER_ATTRIBUTE,
        MlxDecoderSession,
        decoder_session,
    )

    model, features = model_and_features
    options = DecodingOptions(language="en", fp16=False, beam_size=beam_size)
    task = BeamDecodingTask if beam_size else BatchDecodingTask
    assert isinstance(decoder_session(model), MlxDecoderSession)
    on_mlx = task(model, options).run(features)
    monkeypatch.setattr(model, NUMPY_DECODER_ATTRIBUTE, NumpyDecoder(model.decoder), raising=False)
    on_numpy = task(model, options).run(features)
    assert [r.tokens for r in on_mlx] == [r.tokens for r in on_numpy]
    assert "ask not what your country can do for you" in on_numpy[0].text.lower()
    assert [r.avg_logprob for r in on_mlx] == pytest.approx([r.avg_logprob for r in on_numpy], abs=1e-3)


def test_the_word_aligner_reads_the_same_scores_from_it(model_and_features):
    """The aligner's one pass over a segment's tokens: logits at every token and each layer's
    cross-attention scores, as MLX's decoder gives them."""
    import mlx.core as mx

    from stenogram.core.cpu_decoder import NumpyDecoder
    from stenogram.core.whisper_runtime import _FeaturesAsAudio

    model, features = model_and_features
    tokens = mx.array([SOT_PREV_EN + WORDS[0] + [50256]])
    features = features[:1]
    expected_logits, expected_qk = _FeaturesAsAudio(model, features).forward_with_cross_qk(None, tokens)
    model.numpy_decoder = NumpyDecoder(model.decoder)
    try:
        logits, cross_qk = _FeaturesAsAudio(model, features).forward_with_cross_qk(None, tokens)
    finally:
        del model.numpy_decoder
    _close(np.array(logits), np.array(expected_logits))
    assert len(cross_qk) == len(expected_qk) == len(model.decoder.blocks)
    for actual, expected in zip(cross_qk, expected_qk, strict=True):
        assert actual.shape == expected.shape == (1, 6, tokens.shape[1], 1500)
        assert np.abs(np.array(actual) - np.array(expected)).max() < 1e-3


def test_a_fallback_temperature_draws_best_of_n_samples_per_window(model_and_features, monkeypatch):
    """Sampled decoding (temperature fallback) runs on the same numpy sessions as greedy: a
    window's samples share its audio, the best ranked one is kept, and a seed makes it repeat."""
    from dataclasses import replace

    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core import batch_decoding
    from stenogram.core.batch_decoding import BatchDecodingTask
    from stenogram.core.cpu_decoder import NumpyDecoder
    from stenogram.core.decoder_session import NUMPY_DECODER_ATTRIBUTE

    model, features = model_and_features
    monkeypatch.setattr(model, NUMPY_DECODER_ATTRIBUTE, NumpyDecoder(model.decoder), raising=False)
    options = DecodingOptions(language="en", fp16=False, temperature=0.4, best_of=3)
    first = BatchDecodingTask(model, options).run(features)
    assert len(first) == 2 and all(r.temperature == 0.4 for r in first)
    assert "your country" in first[0].text.lower()  # warm, but still the speech
    assert [r.tokens for r in BatchDecodingTask(model, options).run(features)] == [r.tokens for r in first]
    hot = replace(options, temperature=1.0, best_of=1)
    draws = {tuple(BatchDecodingTask(model, hot).run(features)[0].tokens)}
    monkeypatch.setattr(batch_decoding, "SAMPLING_SEED", 1)
    draws.add(tuple(BatchDecodingTask(model, hot).run(features)[0].tokens))
    assert len(draws) == 2  # other random numbers, another text: it does sample


def test_a_sampled_token_follows_the_tempered_distribution(model_and_features):
    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core.batch_decoding import BatchDecodingTask

    model, _ = model_and_features
    rows, vocab = 20000, 64  # any width: the draw reads only the logits
    logits = np.full((rows, vocab), -np.inf, dtype=np.float32)
    logits[:, 10], logits[:, 20] = np.log(0.7), np.log(0.3)
    tokens = np.zeros((rows, 3), dtype=np.int32)
    for temperature, p10 in [(1.0, 0.7), (0.5, 0.49 / 0.58)]:
        task = BatchDecodingTask(model, DecodingOptions(language="en", fp16=False, temperature=temperature))
        task.logit_filters = []  # the draw alone
        drawn, scores = task._step(tokens, logits, np.zeros(rows, dtype=np.float32))
        assert set(np.unique(drawn[:, -1])) == {10, 20}
        assert abs((drawn[:, -1] == 10).mean() - p10) < 0.015
        # the score is the token's log-probability before the temperature, as Whisper keeps it
        assert np.allclose(scores, np.where(drawn[:, -1] == 10, np.log(0.7), np.log(0.3)), atol=1e-5)


@pytest.mark.parametrize("session", ["numpy", "mlx"])
def test_beams_of_windows_with_their_own_prompts_decode_as_alone(model_and_features, session, monkeypatch):
    """Windows whose previous texts differ in length share one beam search (rows padded on
    the left), on numpy's decoder and on MLX's (a Mac's GPU path) alike."""
    from dataclasses import replace

    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core.beam_search import BeamDecodingTask
    from stenogram.core.cpu_decoder import NumpyDecoder
    from stenogram.core.decoder_session import NUMPY_DECODER_ATTRIBUTE

    model, features = model_and_features
    if session == "numpy":
        monkeypatch.setattr(model, NUMPY_DECODER_ATTRIBUTE, NumpyDecoder(model.decoder), raising=False)
    prompts = [[843, 1336, 6868, 290, 523, 616, 13], []]  # previous text; none (a lane's first window)
    options = DecodingOptions(language="en", fp16=False, beam_size=3)

    together = BeamDecodingTask(model, replace(options, prompt=prompts[0])).run(features, prompts)

    for audio, prompt in enumerate(prompts):
        alone = BeamDecodingTask(model, replace(options, prompt=prompt)).run(features[audio : audio + 1])[0]
        assert together[audio].tokens == alone.tokens
        assert together[audio].avg_logprob == pytest.approx(alone.avg_logprob, abs=1e-4)
