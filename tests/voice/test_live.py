"""Live transcription (LocalAgreement-2) on real speech: right words, last words kept."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from stenogram.core.audio_feed import feed_audio
from stenogram.core.engine import TranscribeOptions
from stenogram.core.live import LiveOptions, LiveTranscriber

SAMPLE_RATE = 16_000


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


@pytest.fixture
def live_options(tiny_en) -> LiveOptions:
    opts = TranscribeOptions(model=str(tiny_en), language="en", temperatures=(0.0,), fit_encoder_input=True)
    return LiveOptions(transcribe=opts)


@pytest.fixture
def two_sentences(load_16k) -> np.ndarray:
    """ "Concord returned to its place amidst the tents" + "In every way … Saint Paul"."""
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    return np.concatenate(
        [load_16k("en_ls_6930-75918-0000.flac"), gap, load_16k("en_ls_2830-3980-0000.flac")]
    )


def test_agreement_commits_growing_prefix_and_finish_keeps_last_words(
    transcriber, live_options, two_sentences
):
    live = LiveTranscriber(transcriber, live_options)
    committed: list = []
    tentative: list = []
    live.committed.connect(committed.extend)
    live.tentative.connect(tentative.append)
    step = int(2.5 * SAMPLE_RATE)
    for pos in range(0, len(two_sentences), step):  # the worker's loop, made deterministic
        live.feed(two_sentences[pos : pos + step])
        live.process()
    before_finish = list(live.words)
    transcript = live.finish()
    final = live.words
    assert final[: len(before_finish)] == before_finish  # commits are never taken back
    assert committed == final
    assert tentative, "the tentative tail is reported"
    text = " ".join(words(transcript.text))
    assert "returned to its place amidst the tents" in text
    assert "undermine the authority of" in text
    assert words(transcript.text)[-1] == "paul"  # the very last word survives the stop
    starts = [w.start_ms for w in final]
    assert starts == sorted(starts)
    assert final[-1].end_ms <= len(two_sentences) * 1000 // SAMPLE_RATE + 100
    assert transcript.duration_ms == len(two_sentences) * 1000 // SAMPLE_RATE


def test_worker_thread_path_from_a_file(transcriber, live_options, two_sentences):
    live = LiveTranscriber(transcriber, live_options)
    live.start()
    feed_audio(two_sentences, live.feed, speed=math.inf)
    transcript = live.finish()
    text = " ".join(words(transcript.text))
    assert "amidst the tents" in text and text.endswith("paul")
    assert live.decodes >= 1


def test_silence_commits_nothing(transcriber, live_options):
    live = LiveTranscriber(transcriber, live_options)
    live.feed(np.zeros(3 * SAMPLE_RATE, dtype=np.float32))
    live.process()
    assert live.finish().segments == []


@pytest.mark.parametrize("pause_ms", [500, 0])
def test_a_pause_commits_what_was_said_before_it_at_once(transcriber, live_options, load_16k, pause_ms):
    from dataclasses import replace

    live = LiveTranscriber(transcriber, replace(live_options, pause_ms=pause_ms))
    live.feed(load_16k("en_ls_2830-3980-0000.flac"))
    live.feed(np.zeros(SAMPLE_RATE * 8 // 10, dtype=np.float32))  # the speaker pauses
    done = live.process()  # one decode: no earlier hypothesis to agree with
    said = " ".join(words("".join(w.text for w in done)))
    if pause_ms:
        assert "undermine the authority of saint paul" in said
    else:
        assert done == ()  # agreement alone needs a second decode


def test_a_pause_commits_only_what_came_before_it(transcriber, live_options, load_16k):
    """The next sentence has begun when the decode starts: its first sound is left for later."""
    first, second = load_16k("en_ls_2830-3980-0000.flac"), load_16k("en_ls_6930-75918-0000.flac")
    pause = np.zeros(SAMPLE_RATE * 7 // 10, dtype=np.float32)
    onset = SAMPLE_RATE * 4 // 10
    live = LiveTranscriber(transcriber, live_options)
    live.feed(np.concatenate([first, pause, second[:onset]]))
    done = live.process()
    said = " ".join(words("".join(w.text for w in done)))
    assert said.endswith("saint paul") or said.endswith("st paul"), said
    pause_end_ms = (len(first) + len(pause)) * 1000 // SAMPLE_RATE
    assert all(w.end_ms < pause_end_ms for w in done)
    live.feed(second[onset:])
    transcript = live.finish()
    assert "concord returned to its place" in " ".join(words(transcript.text))
