"""The multilingual base model on real German, French and Spanish speech."""

from __future__ import annotations

import pytest

from stenogram.core.engine import TranscribeOptions
from stenogram.core.evaluation import normalise, wer

CLIPS = {"de_fleurs.flac": "de", "fr_fleurs.flac": "fr", "es_fleurs.flac": "es"}


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_detects_the_language_and_transcribes(transcriber, base_model, shared_audio, references, clip):
    transcript = transcriber.transcribe(shared_audio / clip, TranscribeOptions(model=str(base_model)))
    assert transcript.language == CLIPS[clip]
    assert wer(references[clip]["reference"], transcript.text) <= 0.45, transcript.text


def test_translates_german_into_english(transcriber, base_model, shared_audio):
    transcript = transcriber.transcribe(
        shared_audio / "de_fleurs.flac",
        TranscribeOptions(model=str(base_model), task="translate"),
    )
    text = transcript.text.lower()
    # "Die Höhle befindet sich auf der Spitze eines der Berge nördlich von Mekka …"
    assert "cave" in text or "mountain" in text, text
    assert "höhle" not in text and "berge" not in text


def test_batched_windows_keep_every_sentence_with_base(transcriber, base_model, shared_audio, references):
    """69 s read without long pauses: windows must end between words, and none is lost."""
    clip = "en_long_librispeech.flac"
    transcript = transcriber.transcribe(shared_audio / clip, TranscribeOptions(model=str(base_model), language="en"))
    assert wer(references[clip]["reference"], transcript.text) <= 0.03, transcript.text
    assert "authority of saint paul" in " ".join(normalise(transcript.text))


@pytest.mark.parametrize("clip", ["de_fleurs.flac", "en_long_librispeech.flac"])
def test_the_language_is_heard_in_the_first_window_encoded_once(transcriber, base_model, shared_audio, encoder_inputs, clip):
    """Detection reads the window the decode reads first, and the decode reuses its features
    (one window for the 19 s clip; three batched windows for the 69 s one)."""
    runtime = transcriber.load(str(base_model))
    runtime._last_encoded = None
    encoded = encoder_inputs(runtime, "_encode")
    transcript = transcriber.transcribe(shared_audio / clip, TranscribeOptions(model=str(base_model)))
    assert transcript.language == ("de" if clip.startswith("de") else "en")
    assert len(encoded) == (1 if clip.startswith("de") else 3)


@pytest.mark.parametrize("beam_size", [None, 3])
def test_a_task_without_a_language_hears_it_per_window(transcriber, base_model, shared_audio, beam_size):
    """A decoding task asked for no language finds each window's, on the runtime's own decoder
    (numpy's on a CPU, where MLX's block weights are freed)."""
    import mlx.core as mx
    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core.batch_decoding import BatchDecodingTask
    from stenogram.core.beam_search import BeamDecodingTask
    from stenogram.core.log_mel import compute_log_mel
    from stenogram.core.media import load_audio

    runtime = transcriber.load(str(base_model))
    features = [runtime.encode(compute_log_mel(load_audio(shared_audio / clip)).window(0, 3000))
                for clip in ("de_fleurs.flac", "es_fleurs.flac")]
    task = BeamDecodingTask if beam_size else BatchDecodingTask
    results = task(runtime.model, DecodingOptions(fp16=False, beam_size=beam_size)).run(mx.concatenate(features))
    assert [r.language for r in results] == ["de", "es"]
    assert "Höhle" in results[0].text and "viajeros" in results[1].text
