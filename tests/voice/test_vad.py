"""Voice activity detection on real recordings."""

from __future__ import annotations

import numpy as np
import pytest

from stenogram.core.vad import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    VadError,
    VadOptions,
    VadStream,
    detect_speech,
    speech_probabilities,
)


def _speech_seconds(regions) -> float:
    return sum(r.end - r.start for r in regions) / SAMPLE_RATE


def test_jfk_is_mostly_speech_with_pauses_between_phrases(load_16k):
    audio = load_16k("jfk.flac")
    regions = detect_speech(audio)
    assert 3 <= len(regions) <= 6
    assert 0.1 < regions[0].start_ms / 1000 < 0.6  # he starts speaking after ~0.3 s
    assert 6.0 < _speech_seconds(regions) < 10.5
    starts = [r.start for r in regions]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(regions, regions[1:], strict=False))


def test_leading_near_silence_is_not_speech(load_16k):
    regions = detect_speech(load_16k("en_two_speakers.flac"))
    assert regions, "the call has speech after 6.7 s"
    assert 6.3 < regions[0].start_ms / 1000 < 7.0
    assert regions[-1].end_ms > 28_000


@pytest.mark.parametrize("name", ["noise_dishes.flac", "noise_exercise_bike.flac"])
def test_noise_gives_no_speech(load_16k, name):
    assert _speech_seconds(detect_speech(load_16k(name))) < 0.5


def test_digital_silence_between_utterances_separates_regions(load_16k, references):
    audio = load_16k("en_long_librispeech.flac")
    regions = detect_speech(audio)
    turns = [
        (float(s), float(e))
        for s, e, _ in (
            t.split() for t in references["en_long_librispeech.flac"]["speakers"].split(";")
        )
    ]
    for (_, end), (start, _) in zip(turns, turns[1:], strict=False):
        middle = int((end + start) / 2 * SAMPLE_RATE)  # inside the 0.5 s of zeros
        assert not any(r.start <= middle < r.end for r in regions), f"gap at {end:.2f}s"
    for start, end in turns:  # every utterance is found
        assert any(r.start < end * SAMPLE_RATE and r.end > start * SAMPLE_RATE for r in regions)


def test_padding_and_merging(load_16k):
    audio = load_16k("jfk.flac")
    tight = detect_speech(audio, VadOptions(speech_pad_ms=0))
    padded = detect_speech(audio, VadOptions(speech_pad_ms=200))
    assert padded[0].start == tight[0].start - 200 * SAMPLE_RATE // 1000
    assert _speech_seconds(padded) > _speech_seconds(tight)
    merged = detect_speech(audio, VadOptions(merge_gap_ms=2_000))
    assert len(merged) == 1
    assert merged[0].start == detect_speech(audio)[0].start


def test_long_regions_are_split(load_16k):
    audio = load_16k("en_long_librispeech.flac")
    regions = detect_speech(audio, VadOptions(max_speech_s=5.0, speech_pad_ms=0))
    assert all(r.end - r.start <= 5.0 * SAMPLE_RATE + FRAME_SAMPLES for r in regions)
    assert len(regions) > len(detect_speech(audio, VadOptions(speech_pad_ms=0)))


def test_stream_in_random_chunks_agrees_with_whole_clip(load_16k):
    audio = load_16k("en_two_speakers.flac")
    options = VadOptions(speech_pad_ms=0, min_silence_ms=300)
    stream = VadStream(options)
    rng = np.random.default_rng(7)
    events, pos = [], 0
    while pos < len(audio):
        size = int(rng.integers(1, 4_000))
        events += stream.feed(audio[pos : pos + size])
        pos += size
    events += stream.finish()
    expected = detect_speech(audio, options)
    assert [e.kind for e in events] == ["start", "end"] * len(expected)
    assert [e.sample for e in events] == [x for r in expected for x in (r.start, r.end)]


def test_stream_reports_end_of_speech_after_the_silence(load_16k):
    speech = load_16k("en_ls_6930-75918-0000.flac")
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    stream = VadStream(VadOptions(min_silence_ms=500))
    events = stream.feed(np.concatenate([silence, speech]))
    assert [e.kind for e in events] == ["start"]
    assert stream.in_speech
    ends = []
    for k in range(0, len(silence), 800):  # 50 ms chunks of silence after the speech
        ends += stream.feed(silence[k : k + 800])
        if ends:
            break
    assert [e.kind for e in ends] == ["end"]
    assert not stream.in_speech
    # It fires once 0.5 s of quiet has passed, not much later.
    assert stream.samples_fed - len(silence) - len(speech) < 0.7 * SAMPLE_RATE


def test_probabilities_one_per_frame(load_16k):
    audio = load_16k("jfk.flac")
    probs = speech_probabilities(audio)
    assert len(probs) == -(-len(audio) // FRAME_SAMPLES)
    assert probs.dtype == np.float32
    assert probs.min() >= 0.0 and probs.max() <= 1.0
    assert probs[: int(0.2 * SAMPLE_RATE) // FRAME_SAMPLES].max() < 0.5  # silence before speech
    assert np.median(probs) > 0.5


def test_empty_and_silent_audio():
    assert detect_speech(np.zeros(0, dtype=np.float32)) == []
    assert detect_speech(np.zeros(SAMPLE_RATE * 3, dtype=np.float32)) == []


@pytest.mark.parametrize("bad", [np.zeros((2, 1000), np.float32), np.zeros(1000, np.int16)])
def test_bad_input_gives_a_clear_error(bad):
    with pytest.raises(VadError) as err:
        detect_speech(bad)
    assert err.value.user_message
