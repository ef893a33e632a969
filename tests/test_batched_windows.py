"""Independent windows decoded as one batch give exactly what they give one at a time."""

from __future__ import annotations

import pytest
from mlx_whisper.decoding import DecodingOptions

from stenogram.core.log_mel import compute_log_mel
from stenogram.core.media import load_audio
from stenogram.core.speech_input import VAD_MIN_SILENCE_MS, VAD_PAD_MS
from stenogram.core.speech_map import pack_speech
from stenogram.core.vad import VadOptions, detect_speech
from stenogram.core.window_batches import Window, decode_in_batches, plan_windows
from stenogram.core.window_decoder import LoopSettings


def test_windows_are_cut_between_pieces_and_never_exceed_30_seconds():
    windows = plan_windows([0, 500, 2500, 4000, 9000], 10_000)
    assert windows == [Window(0, 2500), Window(2500, 1500), Window(4000, 3000), Window(7000, 3000)]
    assert sum(w.size for w in windows) == 10_000
    assert plan_windows([], 2900) == [Window(0, 2900)]


@pytest.fixture(scope="module")
def packed_long_clip(shared_audio):
    audio = load_audio(shared_audio / "en_long_librispeech.flac")
    regions = detect_speech(audio, VadOptions(speech_pad_ms=VAD_PAD_MS, min_silence_ms=VAD_MIN_SILENCE_MS))
    packed, speech_map = pack_speech(audio, [(r.start, r.end) for r in regions])
    return compute_log_mel(packed), speech_map.piece_start_frames()


@pytest.mark.parametrize("beam_size", [None, 5])
def test_batched_equals_one_at_a_time(transcriber, tiny_en, packed_long_clip, beam_size):
    """Greedy, and beam search (whose windows' beams share their cross-attention keys and
    values, and whose windows leave the batch as their searches end)."""
    mel, starts = packed_long_clip
    runtime = transcriber.load(str(tiny_en))
    settings = LoopSettings(
        temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        compression_ratio_threshold=2.4,
        logprob_threshold=-1.0,
        no_speech_threshold=0.6,
        condition_on_previous_text=False,
        word_timestamps=False,
        initial_prompt=None,
    )
    options = DecodingOptions(language="en", fp16=False, beam_size=beam_size)
    done: list[int] = []
    one = decode_in_batches(runtime, mel, options, settings, starts, batch_size=1)
    batched = decode_in_batches(runtime, mel, options, settings, starts, batch_size=4, on_window=done.append)

    assert len(plan_windows(starts, mel.n_frames)) >= 3
    assert [(s.start, s.end, s.text) for s in batched] == [(s.start, s.end, s.text) for s in one]
    assert "compound interest" in " ".join(s.text for s in batched).lower()
    assert done == sorted(done) and done[-1] == mel.n_frames
