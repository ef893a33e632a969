"""Independent windows decoded as one batch give exactly what they give one at a time."""

from __future__ import annotations

import pytest
from mlx_whisper.decoding import DecodingOptions

from stenogram.core.window_batches import Window, decode_in_batches, plan_windows


def test_windows_are_cut_between_pieces_and_never_exceed_30_seconds():
    windows = plan_windows([0, 500, 2500, 4000, 9000], 10_000)
    assert windows == [Window(0, 2500), Window(2500, 1500), Window(4000, 3000), Window(7000, 3000)]
    assert sum(w.size for w in windows) == 10_000
    assert plan_windows([], 2900) == [Window(0, 2900)]


@pytest.mark.parametrize("beam_size", [None, 5])
def test_batched_equals_one_at_a_time(transcriber, tiny_en, packed_long_clip, loop_settings, beam_size):
    """Greedy, and beam search (whose windows' beams share their cross-attention keys and
    values, and whose windows leave the batch as their searches end)."""
    mel, starts = packed_long_clip
    runtime = transcriber.load(str(tiny_en))
    settings = loop_settings(condition_on_previous_text=False)
    options = DecodingOptions(language="en", fp16=False, beam_size=beam_size)
    done: list[int] = []
    one = decode_in_batches(runtime, mel, options, settings, starts, batch_size=1)
    batched = decode_in_batches(runtime, mel, options, settings, starts, batch_size=4, on_window=done.append)

    assert len(plan_windows(starts, mel.n_frames)) >= 3
    assert [(s.start, s.end, s.text) for s in batched] == [(s.start, s.end, s.text) for s in one]
    assert "compound interest" in " ".join(s.text for s in batched).lower()
    assert done == sorted(done) and done[-1] == mel.n_frames
