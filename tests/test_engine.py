"""The engine on real speech with the real tiny.en model: words, times, progress, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from stenogram.core.engine import EngineError, TranscribeOptions, TranscriptionCancelled
from stenogram.core.evaluation import wer
from stenogram.core.media import load_audio
from stenogram.core.media_errors import MediaError

SHORT_CLIPS = [
    "en_ls_1089-134686-0002.flac",
    "en_ls_1089-134686-0010.flac",
    "en_ls_1221-135766-0002.flac",
    "en_ls_2830-3980-0000.flac",
    "en_ls_6930-75918-0000.flac",
]


def test_jfk_words_and_times(transcriber, tiny_en, shared_audio, references):
    options = TranscribeOptions(model=str(tiny_en), word_timestamps=True)
    transcript = transcriber.transcribe(shared_audio / "jfk.flac", options)

    assert transcript.language == "en"
    assert wer(references["jfk.flac"]["reference"], transcript.text) <= 0.05
    words = [w for s in transcript.segments for w in s.words]
    americans = next(w for w in words if w.text.strip(" ,") == "Americans")
    assert americans.start_ms <= 1800 <= americans.end_ms + 300
    assert transcript.text.replace(" ", "") == "".join(w.text for w in words).replace(" ", "")
    assert all(
        s.start_ms <= w.start_ms <= w.end_ms <= s.end_ms
        for s in transcript.segments
        for w in s.words
    )


@pytest.mark.parametrize("clip", SHORT_CLIPS)
def test_librispeech_utterances(transcriber, tiny_en, shared_audio, references, clip):
    transcript = transcriber.transcribe(shared_audio / clip, TranscribeOptions(model=str(tiny_en)))
    assert wer(references[clip]["reference"], transcript.text) <= 0.15, transcript.text


@pytest.mark.parametrize("vad", [False, True])
def test_long_form_keeps_every_window(transcriber, tiny_en, shared_audio, references, vad):
    """69 s of four readers: nothing dropped or repeated at the 30 s and 60 s window edges."""
    progress: list[float] = []
    transcript = transcriber.transcribe(
        shared_audio / "en_long_librispeech.flac",
        TranscribeOptions(model=str(tiny_en), vad=vad),
        on_progress=progress.append,
    )
    assert wer(references["en_long_librispeech.flac"]["reference"], transcript.text) <= 0.08
    starts = [s.start_ms for s in transcript.segments]
    assert starts == sorted(starts)
    assert all(a.end_ms <= b.start_ms for a, b in zip(transcript.segments, transcript.segments[1:]))
    assert transcript.segments[-1].end_ms <= 69_730 + 500
    assert progress[0] == 0.0 and progress[-1] == 1.0
    assert progress == sorted(progress) and len(set(progress)) == len(progress)


def test_silence_inserted_keeps_words_on_the_original_timeline(transcriber, tiny_en, shared_audio):
    """VAD packs speech together; the times must still point into the original recording."""
    jfk = load_audio(shared_audio / "jfk.flac")
    lead = np.zeros(2 * 16000, dtype=np.float32)  # room for the VAD's padding in both cases
    gap = np.zeros(20 * 16000, dtype=np.float32)
    options = TranscribeOptions(model=str(tiny_en), word_timestamps=True, vad=True)
    plain = transcriber.transcribe(np.concatenate([lead, jfk]), options)
    shifted = transcriber.transcribe(np.concatenate([lead, gap, jfk]), options)

    def times(t):
        return [(w.text, w.start_ms) for s in t.segments for w in s.words]

    assert [w for w, _ in times(plain)] == [w for w, _ in times(shifted)]
    for (_, a), (_, b) in zip(times(plain), times(shifted)):
        assert abs((b - 20_000) - a) <= 20  # the same packed audio: only the mapping differs


@pytest.mark.parametrize("clip", ["noise_dishes.flac", "noise_exercise_bike.flac"])
def test_noise_gives_no_text(transcriber, tiny_en, shared_audio, clip):
    transcript = transcriber.transcribe(shared_audio / clip, TranscribeOptions(model=str(tiny_en)))
    assert transcript.text == ""


def test_silence_gives_no_text_and_full_progress(transcriber, tiny_en):
    progress: list[float] = []
    silence = np.zeros(16000 * 5, dtype=np.float32)
    transcript = transcriber.transcribe(
        silence, TranscribeOptions(model=str(tiny_en)), on_progress=progress.append
    )
    assert transcript.segments == [] and progress[-1] == 1.0


def test_cancel_stops_a_running_job(transcriber, tiny_en, shared_audio):
    cancel = threading.Event()
    progress: list[float] = []

    def on_progress(fraction: float) -> None:
        progress.append(fraction)
        if fraction > 0:
            cancel.set()

    with pytest.raises(TranscriptionCancelled):
        transcriber.transcribe(
            shared_audio / "en_long_librispeech.flac",
            TranscribeOptions(model=str(tiny_en), vad=False),
            on_progress=on_progress,
            cancel=cancel,
        )
    assert progress[-1] < 1.0


def test_cancel_inside_a_window_interrupts_the_token_loop(transcriber, tiny_en, shared_audio):
    """Cancel set from another thread while the first window decodes."""
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    try:
        with pytest.raises(TranscriptionCancelled):
            transcriber.transcribe(
                shared_audio / "en_long_librispeech.flac",
                TranscribeOptions(model=str(tiny_en), vad=False),
                cancel=cancel,
            )
    finally:
        timer.cancel()
    # The engine is still usable afterwards.
    assert (
        "country"
        in transcriber.transcribe(
            shared_audio / "jfk.flac", TranscribeOptions(model=str(tiny_en))
        ).text
    )


def test_english_only_model_refuses_other_languages(transcriber, tiny_en, shared_audio):
    with pytest.raises(EngineError, match="English only"):
        transcriber.transcribe(
            shared_audio / "jfk.flac", TranscribeOptions(model=str(tiny_en), language="de")
        )
    with pytest.raises(EngineError, match="cannot translate"):
        transcriber.transcribe(
            shared_audio / "jfk.flac", TranscribeOptions(model=str(tiny_en), task="translate")
        )


def test_unknown_model_and_bad_media_give_clear_errors(transcriber, tiny_en, tmp_path):
    with pytest.raises(EngineError, match="no-such-model"):
        transcriber.transcribe(
            np.zeros(16000, np.float32), TranscribeOptions(model="no-such-model")
        )
    not_media = tmp_path / "notes.mp3"
    not_media.write_text("this is not audio")
    with pytest.raises(MediaError) as info:
        transcriber.transcribe(not_media, TranscribeOptions(model=str(tiny_en)))
    assert "notes.mp3" in info.value.user_message


@pytest.mark.parametrize("clip", ["jfk.flac", "en_ls_2830-3980-0000.flac", "en_ls_1089-134686-0005.flac"])
def test_a_fitted_encoder_input_hears_the_same_words(transcriber, tiny_en, shared_audio, encoder_inputs, clip):
    from stenogram.core.evaluation import normalise

    frames = encoder_inputs(transcriber.load(str(tiny_en)))
    options = TranscribeOptions(model=str(tiny_en), language="en", word_timestamps=True, fit_encoder_input=False)
    full = transcriber.transcribe(shared_audio / clip, options)
    fitted = transcriber.transcribe(shared_audio / clip, TranscribeOptions(**{**options.to_dict(), "fit_encoder_input": True}))
    assert normalise(fitted.text) == normalise(full.text)
    assert frames[0] == 3000 and frames[1] < 1500  # the short input was what the text came from
    shifts = sorted(abs(a.start_ms - b.start_ms) for a, b in zip(_words(full), _words(fitted), strict=True))
    # The full window's times, within DTW's wobble: a word after a pause may take the pause
    # (en_ls_1089-134686-0005: "the words. The words", 440 ms), no more than one word.
    assert shifts[-2] <= 300 and shifts[-1] <= 600


def _words(transcript):
    return [w for s in transcript.segments for w in s.words]


def test_the_engine_fits_a_short_file_with_a_long_margin_on_a_cpu(transcriber, tiny_en, shared_audio, encoder_inputs):
    """By default (VAD on, CPU) an 11 s file is encoded with 8 s of padding, not 30 s; without
    VAD, as Whisper reads it, the whole window. A Mac's GPU always reads whole windows."""
    from stenogram.core.whisper_runtime import uses_gpu

    frames = encoder_inputs(transcriber.load(str(tiny_en)))
    default = transcriber.transcribe(shared_audio / "jfk.flac", TranscribeOptions(model=str(tiny_en)))
    beam = transcriber.transcribe(shared_audio / "jfk.flac", TranscribeOptions(model=str(tiny_en), beam_size=5))
    whole = transcriber.transcribe(shared_audio / "jfk.flac", TranscribeOptions(model=str(tiny_en), vad=False))
    expected = 3000 if uses_gpu() else 1900  # 11.0 s of speech and 8 s, in whole seconds
    assert frames == [expected, expected, 3000]
    for transcript in (default, beam, whole):
        assert "ask not what your country can do for you" in transcript.text.lower()


def test_a_fitted_input_that_looks_wrong_is_decoded_again_in_full(transcriber, tiny_en, shared_audio, encoder_inputs):
    frames = encoder_inputs(transcriber.load(str(tiny_en)))
    # No decode is likely enough for this threshold, so with warmer temperatures to fall back
    # on, the fitted one is never trusted: the full window is decoded first, as Whisper would.
    options = TranscribeOptions(model=str(tiny_en), language="en", fit_encoder_input=True, logprob_threshold=0.0)
    transcript = transcriber.transcribe(shared_audio / "en_ls_2830-3980-0000.flac", options)
    assert frames[0] < 1000 and frames[1] == 3000
    assert "undermine the authority" in transcript.text


def test_a_fitted_input_says_its_last_sentence_once(transcriber, base_model, shared_audio, references):
    """Without 30 s of padding after it, the decoder tends to say the end again (measured with
    base on this clip: the last sentence twice, once from a 0.11 s rest of the audio)."""
    clip = "en_ls_1089-134686-0020.flac"
    options = TranscribeOptions(model=str(base_model), language="en", temperatures=(0.0,), fit_encoder_input=True)
    transcript = transcriber.transcribe(shared_audio / clip, options)
    assert transcript.text.count("stolen only") == 1, transcript.text
    assert wer(references[clip]["reference"], transcript.text) <= 0.05
    assert transcript.segments[-1].end_ms <= transcript.duration_ms


def test_a_model_loaded_on_one_thread_decodes_first_on_another(tiny_en, shared_audio):
    """The app loads the model when it starts and transcribes on worker threads (dictation)."""
    from stenogram.core.engine import Transcriber

    transcriber = Transcriber()
    transcriber.load(str(tiny_en))
    outcome: dict = {}

    def work() -> None:
        try:
            options = TranscribeOptions(model=str(tiny_en), language="en")
            outcome["text"] = transcriber.transcribe(shared_audio / "jfk.flac", options).text
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert "error" not in outcome, outcome.get("error")
    assert "fellow Americans" in outcome["text"]
