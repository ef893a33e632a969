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
