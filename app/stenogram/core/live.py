"""Live transcription while you speak: LocalAgreement-2 over a growing buffer.

The policy (after whisper_streaming, Macháček et al. 2023):
- keep the audio not yet safely committed in a buffer; about once a second re-decode all of
  it (greedy, word timestamps), with the committed text before the buffer as the prompt;
- commit the longest prefix on which this hypothesis and the previous one agree: two decodes
  with more context each agreeing is strong evidence the words will not change;
- once the buffer is long, cut it at the end of a segment that is wholly committed, so each
  decode stays short (at most ``max_buffer_s``) and nothing uncommitted is ever cut;
- when the speaker pauses (a streaming VAD hears ``pause_ms`` of quiet), the audio up to the
  pause (and its silence) is decoded once more and committed without waiting for a second
  decode to agree: it has been heard in full and is followed by silence. The buffer restarts
  at the pause. Words at the end of an utterance would otherwise wait longest.
  (whisper_streaming's VAD-controlled mode ends its chunks at pauses the same way.)
- ``finish()`` decodes what is left one last time and commits all of it: the last words are
  never dropped.

One worker thread does all the decoding (one core busy); ``feed()`` only appends, so it is
safe to call from the recorder's thread or from ``audio_feed`` (tests, benchmarks).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
from psygnal import Signal

from stenogram.core.engine import TranscribeOptions, Transcriber
from stenogram.core.mlx_runtime import release_thread_streams
from stenogram.core.transcript import Segment, Transcript, Word
from stenogram.core.vad import VadOptions, VadStream

SAMPLE_RATE = 16_000
# Words of the new hypothesis that start this long before the last committed word ended are
# the same words heard again; later ones are new.
TAIL_MATCH_MS = 1500  # the committed tail is found again only this close to where it was said
OVERLAP_SLACK_MS = 100
PAUSE_PAD_MS = 100  # a pause's end is placed this far after the last speech
MAX_NGRAM_REPEAT = 5  # committed tail words a new hypothesis may repeat at its start
SENTENCE_END = re.compile(r"[.?!…]$")


@dataclass(frozen=True)
class LiveOptions:
    # Decoding: greedy, no fallback; the user's model and language.
    transcribe: TranscribeOptions = field(
        default_factory=lambda: TranscribeOptions(
            language="en", temperatures=(0.0,), fit_encoder_input=True
        )
    )
    # Pacing: decode again once this much new audio has arrived (or as soon as the last
    # decode ends, when decoding takes longer).
    step_s: float = 0.5
    # A pause this long commits everything said before it (0: only agreement commits).
    pause_ms: int = 350  # 500 ms: median 1.9-2.7 s; 350 ms: 1.5 s, same words (bench/voice.py)
    # The buffer is cut at a committed segment end once it is longer than this.
    max_buffer_s: float = 8.0  # shorter decodes commit sooner (12 s: median 2.1 s, 8 s: 1.8-1.95 s)
    # Committed text carried into each decode as the prompt.
    prompt_chars: int = 200


def _norm(text: str) -> str:
    return re.sub(r"[^\w']", "", text.lower())


def _agreeing_prefix(a: list[Word], b: list[Word]) -> int:
    n = 0
    while n < len(a) and n < len(b) and _norm(a[n].text) == _norm(b[n].text):
        n += 1
    return n


class LiveTranscriber:
    """Feed 16 kHz audio; committed words and the tentative tail arrive through signals."""

    committed = Signal(tuple)  # tuple[Word, ...] newly committed, absolute times
    tentative = Signal(tuple)  # tuple[Word, ...] the current uncommitted tail (may change)
    failed = Signal(Exception)  # decoding failed; live output stops, audio is still recorded

    def __init__(self, transcriber: Transcriber, options: LiveOptions | None = None) -> None:
        self.options = options or LiveOptions()
        self._transcriber = transcriber
        self._lock = threading.Lock()
        self._new_audio = threading.Condition(self._lock)
        self._chunks: list[np.ndarray] = []
        self._buffer = np.zeros(0, dtype=np.float32)
        self._offset = 0  # sample index (in the whole stream) of the buffer's start
        self._received = 0  # samples fed so far
        self._decoded_upto = 0  # samples fed when the last decode began
        self._words: list[Word] = []
        self._previous: list[Word] = []  # last hypothesis, committed words removed
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._vad = VadStream(VadOptions(min_silence_ms=self.options.pause_ms, speech_pad_ms=PAUSE_PAD_MS))
        self._pause_at: int | None = None  # sample where speech last stopped for a pause
        self.decodes = 0  # how many times the buffer was decoded
        self.decode_seconds = 0.0  # time spent decoding

    # -- input ---------------------------------------------------------------------------------

    def feed(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, dtype=np.float32)
        events = self._vad.feed(chunk) if self.options.pause_ms else []
        with self._new_audio:
            self._chunks.append(chunk)
            self._received += len(chunk)
            for event in events:  # a start clears the pause; an end marks one
                self._pause_at = event.sample if event.kind == "end" else None
            self._new_audio.notify()

    # -- output --------------------------------------------------------------------------------

    @property
    def words(self) -> list[Word]:
        """Everything committed so far."""
        return list(self._words)

    @property
    def text(self) -> str:
        return "".join(w.text for w in self._words).strip()

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Decodes on a worker thread as audio arrives, until ``finish()``."""
        self._worker = threading.Thread(target=self._run, name="live-transcriber", daemon=True)
        self._worker.start()

    def finish(self) -> Transcript:
        """Stops, decodes what is left, commits everything, and returns the whole transcript."""
        with self._new_audio:
            self._stopping = True
            self._new_audio.notify()
        if self._worker is not None:
            self._worker.join()
        self.process(final=True)
        return self.transcript()

    def _run(self) -> None:
        try:
            self._decode_as_audio_arrives()
        finally:
            release_thread_streams()

    def _decode_as_audio_arrives(self) -> None:
        # Pay the model's first-use costs while the first second of speech arrives.
        try:
            self._transcriber.warm_up(self.options.transcribe.model)
        except Exception as exc:  # a missing model: shown by the UI, the recording goes on
            self.failed.emit(exc)
            return
        step = int(self.options.step_s * SAMPLE_RATE)
        while True:
            with self._new_audio:
                while not self._stopping and self._received - self._decoded_upto < step:
                    self._new_audio.wait(timeout=0.5)
                if self._stopping:
                    return
            try:
                self.process()
            except Exception as exc:  # shown by the UI; the recording itself goes on
                self.failed.emit(exc)
                return

    def process(self, *, final: bool = False) -> tuple[Word, ...]:
        """One decode of the buffer; returns the newly committed words.

        With ``final`` every word of the hypothesis is committed (the end of the stream).
        After a pause, only the audio up to it is decoded, and all of it is committed.
        """
        with self._lock:
            if self._chunks:
                self._buffer = np.concatenate([self._buffer, *self._chunks])
                self._chunks = []
            self._decoded_upto = self._received
            buffer, offset = self._buffer, self._offset
            pause_at, self._pause_at = self._pause_at, None
        if pause_at is not None and pause_at > offset and not final:
            return self._commit_before_pause(buffer, offset, pause_at)
        if len(buffer) < SAMPLE_RATE // 10:
            return self._commit(list(self._previous) if final else [])
        hypothesis, segment_ends = self._timed_decode(buffer, offset)
        new = self._after_committed(hypothesis)
        # At the end of the stream nothing more will confirm the tail: commit it all.
        agreed = new if final else new[: _agreeing_prefix(new, self._previous)]
        self._previous = new[len(agreed) :]
        done = self._commit(agreed)
        self._trim(segment_ends)
        return done

    def _commit_before_pause(self, buffer: np.ndarray, offset: int, pause_at: int) -> tuple[Word, ...]:
        """Decodes the speech before a pause with a little of its silence, and commits it all.

        The audio after the pause is left out: the start of a new word there would be misread
        (and, committed, could never be taken back). What was said before the pause has been
        heard in full, so one decode is enough; the buffer then restarts at the pause.
        """
        # With it, the silence the VAD heard after the pause's end, and nothing later.
        tail = (self.options.pause_ms - PAUSE_PAD_MS) * SAMPLE_RATE // 1000
        heard = buffer[: pause_at - offset + tail]
        hypothesis, _ = self._timed_decode(heard, offset)
        # Words placed in the silence after the pause are the decoder's invention.
        pause_ms = pause_at * 1000 // SAMPLE_RATE + OVERLAP_SLACK_MS
        new = [w for w in self._after_committed(hypothesis) if w.end_ms <= pause_ms]
        self._previous = []
        done = self._commit(new)
        if done:  # nothing heard would be dropped with the audio: keep it if nothing came of it
            self._cut_buffer(pause_at)
        return done

    def _timed_decode(self, buffer: np.ndarray, offset: int) -> tuple[list[Word], list[int]]:
        started = time.perf_counter()
        decoded = self._decode(buffer, offset)
        self.decodes += 1
        self.decode_seconds += time.perf_counter() - started
        return decoded

    def _decode(self, buffer: np.ndarray, offset: int) -> tuple[list[Word], list[int]]:
        offset_ms = offset * 1000 // SAMPLE_RATE
        options = replace(
            self.options.transcribe,
            word_timestamps=True,
            vad=False,  # the buffer's silence is real context; VAD would shift the times
            initial_prompt=self._prompt(offset_ms) or None,
        )
        transcript = self._transcriber.transcribe(buffer, options)
        words = [
            replace(w, start_ms=w.start_ms + offset_ms, end_ms=w.end_ms + offset_ms)
            for s in transcript.segments
            for w in s.words
        ]
        return words, [s.end_ms + offset_ms for s in transcript.segments]

    def _prompt(self, buffer_start_ms: int) -> str:
        # Only committed words already cut from the buffer: the rest are in the audio.
        before = "".join(w.text for w in self._words if w.end_ms <= buffer_start_ms)
        return before[-self.options.prompt_chars :].strip()

    def _after_committed(self, words: list[Word]) -> list[Word]:
        """The hypothesis minus what is already committed (by time, then by repeated words)."""
        if not self._words:
            return words
        last_end = self._words[-1].end_ms
        # First by the words themselves: where the hypothesis says the committed tail again, near
        # where it was said. Word times move by a few hundred ms between decodes, so a time cut
        # alone can drop a new word that starts just before the last committed one ended.
        after = self._after_repeated_tail(words, last_end)
        if after is not None:
            return after
        new = [w for w in words if w.start_ms > last_end - OVERLAP_SLACK_MS]
        if new and abs(new[0].start_ms - last_end) < 1000:
            tail = [_norm(w.text) for w in self._words[-MAX_NGRAM_REPEAT:]]
            for n in range(min(MAX_NGRAM_REPEAT, len(new), len(tail)), 0, -1):
                if tail[-n:] == [_norm(w.text) for w in new[:n]]:
                    return new[n:]
        return new

    def _after_repeated_tail(self, words: list[Word], last_end: int) -> list[Word] | None:
        tail = [_norm(w.text) for w in self._words[-MAX_NGRAM_REPEAT:]]
        texts = [_norm(w.text) for w in words]
        for n in range(min(len(tail), len(words)), 0, -1):
            for i in range(len(words) - n, -1, -1):
                if texts[i : i + n] == tail[-n:] and abs(words[i + n - 1].end_ms - last_end) < TAIL_MATCH_MS:
                    return words[i + n :]
        return None

    def _commit(self, words: list[Word]) -> tuple[Word, ...]:
        done = tuple(words)
        self._words.extend(done)
        if done:
            self.committed.emit(done)
        self.tentative.emit(tuple(self._previous))
        return done

    def _trim(self, segment_ends: list[int]) -> None:
        """Cuts the buffer at the last segment end that is wholly committed, when long."""
        if not self._words:
            return
        buffer_s = len(self._buffer) / SAMPLE_RATE
        if buffer_s <= self.options.max_buffer_s:
            return
        committed_end = self._words[-1].end_ms
        candidates = [e for e in segment_ends if e <= committed_end]
        # No segment ends inside the committed part: cut after the last committed sentence.
        cut_ms = max(candidates) if candidates else self._last_sentence_end()
        if cut_ms is None and buffer_s > 1.5 * self.options.max_buffer_s:
            cut_ms = committed_end  # one long sentence: committed words are safe to cut
        if cut_ms is None:
            return
        self._cut_buffer(cut_ms * SAMPLE_RATE // 1000)

    def _cut_buffer(self, cut: int) -> None:
        """Drops the buffer's audio before stream sample ``cut``."""
        with self._lock:
            if cut <= self._offset:
                return
            self._buffer = self._buffer[cut - self._offset :]
            self._offset = cut

    def _last_sentence_end(self) -> int | None:
        for w in reversed(self._words):
            if SENTENCE_END.search(w.text.strip()):
                return w.end_ms
        return None

    # -- the result ----------------------------------------------------------------------------

    def transcript(self) -> Transcript:
        """The committed words as a timed transcript (a segment per sentence)."""
        segments: list[Segment] = []
        current: list[Word] = []
        for word in self._words:
            current.append(word)
            if SENTENCE_END.search(word.text.strip()):
                segments.append(_segment(current))
                current = []
        if current:
            segments.append(_segment(current))
        opts = self.options.transcribe
        return Transcript(
            segments=segments,
            language=opts.language,
            model=opts.model,
            options=opts.to_dict(),
            duration_ms=self._received * 1000 // SAMPLE_RATE,
        )


def _segment(words: list[Word]) -> Segment:
    return Segment(
        start_ms=words[0].start_ms,
        end_ms=max(words[-1].end_ms, words[0].start_ms),
        text="".join(w.text for w in words).strip(),
        words=tuple(words),
    )
