"""Speaker labels benchmark: diarization error rate and speed on the shared multi-speaker clips.

Run: .venv/bin/python bench/speakers.py [--audio ../shared/audio] [--no-transcribe]
Prints a Markdown table. DER is scored as md-eval does by default: a 0.25 s collar around
every reference boundary is not scored, overlapped speech is scored, and reference and
hypothesis speakers are paired by the mapping that maximises their common time
(scipy's linear_sum_assignment). DER = (missed speech + false alarm + confusion) / speech.
Each clip runs with the automatic speaker count and with the true count given.
Time is the diarization wall time (model warm) against the audio length, and against
transcribing the same clip with tiny.en (word timestamps), where that model is installed.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from stenogram.core.media import load_audio
from stenogram.core.speakers import DiarizationOptions, SpeakerTurn, diarize, shared_encoder

CLIPS = ("en_two_speakers.flac", "en_long_librispeech.flac")
COLLAR_S = 0.25
STEP_S = 0.01  # scoring resolution: 10 ms frames
REPEATS = 3


@dataclass(frozen=True)
class Der:
    scored_s: float  # reference speech time scored (speaker-seconds, overlaps count twice)
    missed_s: float
    false_alarm_s: float
    confusion_s: float

    @property
    def der(self) -> float:
        return (self.missed_s + self.false_alarm_s + self.confusion_s) / max(self.scored_s, 1e-9)


def parse_turns(field: str) -> list[tuple[float, float, str]]:
    """refs.tsv's `speakers` column: "start end label;…" in seconds."""
    turns = []
    for item in field.split(";"):
        start, end, label = item.split()
        turns.append((float(start), float(end), label))
    return turns


def _activity(turns: list[tuple[float, float, str]], labels: list[str], frames: int) -> np.ndarray:
    """(speakers, frames) booleans: who speaks in each 10 ms frame."""
    act = np.zeros((len(labels), frames), dtype=bool)
    for start, end, label in turns:
        a, b = round(start / STEP_S), min(frames, round(end / STEP_S))
        act[labels.index(label), a:b] = True
    return act


def diarization_error(
    reference: list[tuple[float, float, str]],
    hypothesis: list[tuple[float, float, str]],
    collar_s: float = COLLAR_S,
) -> Der:
    end_s = max([e for _, e, _ in reference] + [e for _, e, _ in hypothesis] + [0.0])
    frames = round(end_s / STEP_S) + 1
    ref_labels = sorted({x for *_, x in reference})
    hyp_labels = sorted({x for *_, x in hypothesis})
    ref = _activity(reference, ref_labels, frames)
    hyp = _activity(hypothesis, hyp_labels, frames)
    scored = np.ones(frames, dtype=bool)
    c = round(collar_s / STEP_S)
    for start, end, _ in reference:
        for edge in (round(start / STEP_S), round(end / STEP_S)):
            scored[max(0, edge - c) : edge + c] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    overlap = ref.astype(np.int64) @ hyp.T.astype(np.int64)  # frames both speak
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    matched = np.zeros(ref.shape[1], dtype=np.int64)
    for r, h in zip(rows, cols, strict=True):
        matched += ref[r] & hyp[h]
    return Der(
        scored_s=float(n_ref.sum()) * STEP_S,
        missed_s=float(np.maximum(n_ref - n_hyp, 0).sum()) * STEP_S,
        false_alarm_s=float(np.maximum(n_hyp - n_ref, 0).sum()) * STEP_S,
        confusion_s=float((np.minimum(n_ref, n_hyp) - matched).sum()) * STEP_S,
    )


def _as_tuples(turns: list[SpeakerTurn]) -> list[tuple[float, float, str]]:
    return [(t.start_ms / 1000, t.end_ms / 1000, t.speaker) for t in turns]


def _timed(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _transcribe_seconds(audio: np.ndarray) -> float | None:
    try:
        from stenogram.core.engine import TranscribeOptions, Transcriber, resolve_model_path

        options = TranscribeOptions(model=str(resolve_model_path("tiny.en")), word_timestamps=True)
    except Exception:  # noqa: BLE001 - no model installed: leave the column empty
        return None
    engine = Transcriber()
    engine.transcribe(audio, options)  # warm up: model load
    t0 = time.perf_counter()
    engine.transcribe(audio, options)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audio", type=Path, default=Path(__file__).parents[2] / "shared" / "audio")
    parser.add_argument("--no-transcribe", action="store_true")
    args = parser.parse_args()
    with open(args.audio / "refs.tsv", newline="", encoding="utf-8") as f:
        refs = {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}
    shared_encoder().load()
    print("| clip | speakers (true) | count | found | DER | missed | false alarm | confusion "
          "| time / audio | time / transcription |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for clip in CLIPS:
        audio = load_audio(args.audio / clip)
        duration = len(audio) / 16_000
        reference = parse_turns(refs[clip]["speakers"])
        true_count = len({x for *_, x in reference})
        transcribe_s = None if args.no_transcribe else _transcribe_seconds(audio)
        for given in (None, true_count):
            options = DiarizationOptions(num_speakers=given)
            seconds, turns = _timed(lambda a=audio, o=options: diarize(a, o))
            score = diarization_error(reference, _as_tuples(turns))  # type: ignore[arg-type]
            found = len({t.speaker for t in turns})  # type: ignore[union-attr]
            ratio = f"{seconds / transcribe_s:.2f}" if transcribe_s else "–"
            print(
                f"| {clip} ({duration:.1f} s) | {true_count} | {'auto' if given is None else given} "
                f"| {found} | {score.der:.1%} | {score.missed_s / score.scored_s:.1%} "
                f"| {score.false_alarm_s / score.scored_s:.1%} "
                f"| {score.confusion_s / score.scored_s:.1%} | {seconds / duration:.3f} "
                f"({seconds:.2f} s) | {ratio} |"
            )


if __name__ == "__main__":
    main()
