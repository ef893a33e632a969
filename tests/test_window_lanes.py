"""Lanes run Whisper's own loop over stretches of a file, several at once: each lane gives what
the loop gives over its stretch alone, its previous text as prompt included."""

from __future__ import annotations

import pytest
from mlx_whisper.decoding import DecodingOptions

from stenogram.core.log_mel import N_FRAMES, LogMel
from stenogram.core.window_decoder import decode_windows
from stenogram.core.window_lanes import decode_in_lanes, plan_lanes


def test_lanes_are_cut_at_the_pieces_nearest_equal_shares():
    starts = [0, 2000, 5500, 9100, 12500, 16000]
    assert plan_lanes(starts, 18_000, 3) == [(0, 5500), (5500, 12500), (12500, 18_000)]
    assert len(plan_lanes(starts, 18_000, 8)) == 6  # no more lanes than 30 s windows fill
    assert plan_lanes(starts, N_FRAMES, 4) == [(0, N_FRAMES)]  # one window: one lane
    assert plan_lanes([], 20_000, 4) == [(0, 20_000)]  # no pause to cut at


def test_each_lane_is_whispers_loop_over_its_stretch(transcriber, tiny_en, packed_long_clip, loop_settings):
    """Beam search over two lanes at once, each window prompted with its own lane's previous
    text (rows padded to one length), gives what the sequential loop gives on each stretch
    alone."""
    mel, starts = packed_long_clip
    runtime = transcriber.load(str(tiny_en))
    options = DecodingOptions(language="en", fp16=False, beam_size=5)
    settings = loop_settings(condition_on_previous_text=True)
    lanes = plan_lanes(starts, mel.n_frames, 2)
    assert len(lanes) == 2
    done: list[int] = []

    together = decode_in_lanes(runtime, mel, options, settings, starts, 2, on_window=done.append)

    for first, end in lanes:
        stretch = LogMel(mel.frames[first:end])
        alone = decode_windows(runtime, stretch, options, settings,
                               speech_starts=[s - first for s in starts if first <= s < end])
        offset = first / 100
        in_lane = [s for s in together if offset <= s.start < end / 100]
        assert [s.text for s in in_lane] == [s.text for s in alone]
        times = [t for s in in_lane for t in (s.start, s.end)]
        assert times == pytest.approx([t + offset for s in alone for t in (s.start, s.end)])
    assert "compound interest" in " ".join(s.text for s in together).lower()
    assert done == sorted(done) and done[-1] > 0.95 * mel.n_frames
