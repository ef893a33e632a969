"""Beam search on MLX: greedy-identical at beam 1, better where greedy errs, silent on noise."""

from __future__ import annotations

import numpy as np
import pytest

from stenogram.core.engine import TranscribeOptions
from stenogram.core.log_mel import compute_log_mel
from stenogram.core.media import load_audio


def test_beam_of_one_is_greedy(transcriber, tiny_en, shared_audio):
    from mlx_whisper.decoding import DecodingOptions, DecodingTask

    from stenogram.core.beam_search import BeamDecodingTask
    from stenogram.core.model_loading import load_whisper

    runtime = transcriber.load(str(tiny_en))
    mel = compute_log_mel(load_audio(shared_audio / "en_ls_1221-135766-0001.flac"))
    features = runtime.encode(mel.window(0, mel.n_frames))
    options = DecodingOptions(language="en", fp16=False)
    # mlx_whisper's own greedy task, on a model of its own: the runtime's decoder on a CPU
    # holds its block weights in fp16 for numpy's decoder only (MLX's copies are freed)
    greedy = DecodingTask(load_whisper(tiny_en, "float32"), options).run(features)[0]
    beam = BeamDecodingTask(runtime.model, DecodingOptions(language="en", fp16=False, beam_size=1)).run(features)[0]
    assert beam.tokens == greedy.tokens
    # Beam scores come from numpy's log-softmax (float64's to 1e-7 here); mlx_whisper's greedy
    # score from MLX's CPU exp, 2e-4 off on this clip.
    assert beam.avg_logprob == pytest.approx(greedy.avg_logprob, abs=1e-3)


def test_beam_of_five_fixes_what_greedy_gets_wrong(transcriber, tiny_en, shared_audio):
    """On the phone call greedy hears "Neither did I." as "I need to design."; beam 5 does not."""
    clip = shared_audio / "en_two_speakers.flac"
    greedy = transcriber.transcribe(clip, TranscribeOptions(model=str(tiny_en), beam_size=1)).text
    beam = transcriber.transcribe(clip, TranscribeOptions(model=str(tiny_en), beam_size=5)).text
    assert "neither did i" not in greedy.lower()
    assert "neither did i" in beam.lower()


@pytest.mark.parametrize("beam_size", [1, 5])
def test_noise_and_silence_give_no_words(transcriber, tiny_en, shared_audio, beam_size):
    options = TranscribeOptions(model=str(tiny_en), beam_size=beam_size, word_timestamps=True)
    noise = transcriber.transcribe(shared_audio / "noise_dishes.flac", options)
    silence = transcriber.transcribe(np.zeros(16000 * 20, dtype=np.float32), options)
    assert noise.segments == [] and silence.segments == []


def test_a_noise_gap_keeps_real_words_in_place_and_adds_none(transcriber, tiny_en, shared_audio):
    first = load_audio(shared_audio / "en_ls_2830-3980-0000.flac")  # "… authority of Saint Paul"
    noise = load_audio(shared_audio / "noise_exercise_bike.flac")[: 16000 * 20]
    second = load_audio(shared_audio / "en_ls_6930-75918-0000.flac")  # "Concord returned …"
    audio = np.concatenate([first, noise, second])
    gap_start, gap_end = len(first) / 16, (len(first) + len(noise)) / 16  # in ms

    options = TranscribeOptions(model=str(tiny_en), beam_size=5, word_timestamps=True)
    transcript = transcriber.transcribe(audio, options)
    alone = transcriber.transcribe(second, options)

    words = [w for s in transcript.segments for w in s.words]
    assert not [w for w in words if gap_start + 300 < w.start_ms < gap_end - 300]

    def returned(ws):
        return next(w.start_ms for w in ws if "returned" in w.text.lower())

    alone_words = [w for s in alone.segments for w in s.words]
    assert abs(returned(words) - (gap_end + returned(alone_words))) <= 200
    assert "paul" in transcript.text.lower() and "tents" in transcript.text.lower()


def test_beams_keep_the_rows_of_the_beams_they_extend():
    """The next beams of each audio take the cache rows of the beams they extend where they can,
    so a step copies only the rows of beams that moved; each beam is still there once."""
    from stenogram.core.beam_search import _in_place_order

    # two audios of 3 beams: sources are the rows (of the last step) each new beam extends
    sources = [1, 1, 0, 5, 3, 4]
    order = _in_place_order(sources, 3)
    placed = [sources[i] for i in order]
    assert sorted(order[:3]) == [0, 1, 2] and sorted(order[3:]) == [3, 4, 5]
    assert placed[0] == 0 and placed[1] == 1  # rows 0 and 1 are extended in place
    assert placed[2] == 1  # the second beam from row 1 takes the free row
    assert placed[3:] == [3, 4, 5]  # the second audio's beams were only reordered by score
