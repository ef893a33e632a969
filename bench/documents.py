"""Documents benchmark: a 2-hour transcript in the library, edited, undone, shaped, exported,
and a search over 1,000 stored transcripts.

Run: .venv/bin/python bench/documents.py [--transcripts 1000] [--repeat 50]
Prints a Markdown table (median and worst of the repeats) with the targets from the issue:
load < 200 ms, edit + autosave < 10 ms, search < 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stenogram.core.edits import ChangeText, EditHistory, SetTimes
from stenogram.core.formats import render, write_transcript
from stenogram.core.library import Library
from stenogram.core.subtitles import shape
from stenogram.core.transcript import Segment, Transcript, Word

TWO_HOURS_MS = 2 * 3600 * 1000
SEGMENTS = 2_400  # one every 3 s
_TEXT = (
    "after early nightfall the yellow lamps would light up here and there squalid quarter of "
    "brothels god as a direct consequence sin which man thus punished had given her lovely child "
    "whose place was on that same dishonoured bosom to connect parent forever with race descent "
    "mortals be finally blessed soul in heaven every way they sought undermine authority saint "
    "paul music came nearer he recalled words shelley's fragment upon moon wandering pale"
)
VOCABULARY = _TEXT.split()


def synth_transcript(rng: random.Random, segments: int, span_ms: int) -> Transcript:
    """Segments of 8-12 words with realistic timings, sentence punctuation and two speakers."""
    step = span_ms // segments
    out: list[Segment] = []
    for i in range(segments):
        start = i * step
        n = rng.randint(8, 12)
        per = (step - 200) // n
        words = []
        for k in range(n):
            text = " " + rng.choice(VOCABULARY)
            if k == n - 1:
                text += rng.choice(".?!")
            elif rng.random() < 0.08:
                text += ","
            words.append(Word(start + k * per, start + (k + 1) * per - 20, text,
                              round(rng.uniform(0.5, 1.0), 4)))
        out.append(Segment(start, start + n * per, "".join(w.text for w in words), tuple(words),
                           "Ann" if (i // 7) % 2 == 0 else "Bob", -0.2, 0.01, 1.4))
    return Transcript(out, language="en", media_path="/media/two-hours.m4a", model="tiny.en",
                      duration_ms=span_ms)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(7)
    rows: list[tuple[str, list[float], str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "library.sqlite3"
        t = synth_transcript(rng, SEGMENTS, TWO_HOURS_MS)
        n_words = sum(len(s.words) for s in t.segments)
        with Library(db) as lib:
            tid = lib.add_transcript(t, title="two hours")
        rows.append(("open library (1 transcript)", timed(lambda: Library(db).close(), 10), ""))

        lib = Library(db)
        rows.append(("load 2-h transcript from library", timed(lambda: lib.load(tid), 10),
                     "< 200 ms"))
        doc = lib.load(tid)
        history = EditHistory(doc)
        history.changed.connect(lambda _e: lib.save(tid, doc))

        def edit() -> None:
            i = rng.randrange(len(doc.segments))
            history.push(ChangeText(i, doc.segments[i].text.replace(" the", " a", 1) + " yes"))

        rows.append(("edit text + autosave", timed(edit, args.repeat), "< 10 ms"))

        def drag() -> None:
            i = rng.randrange(1, len(doc.segments) - 1)
            history.push(SetTimes(i, end_ms=doc.segments[i].end_ms + 10))

        rows.append(("move a segment end + autosave", timed(drag, args.repeat), "< 10 ms"))
        rows.append(("undo + autosave", timed(history.undo, args.repeat), ""))
        rows.append(("full re-shape into cues", timed(lambda: shape(doc), 3), ""))
        rows.append(("render SRT", timed(lambda: render(doc, "srt"), 5), ""))
        out = Path(tmp) / "out.srt"
        rows.append(("write SRT (atomic, fsync)",
                     timed(lambda: write_transcript(doc, out, overwrite=True), 5), ""))
        lib.close()

        # a library of many hour-long-ish transcripts to search
        t0 = time.perf_counter()
        with Library(db) as lib:
            for k in range(args.transcripts):
                lib.add_transcript(synth_transcript(rng, 120, 360_000), title=f"talk {k}")
            lib.add_transcript(Transcript([Segment(1000, 2000, " the zanzibar treaty")]),
                               title="needle")
        fill_s = time.perf_counter() - t0
        size_mb = db.stat().st_size / 1e6
        rows.append((f"open library ({args.transcripts + 2} transcripts, {size_mb:.0f} MB)",
                     timed(lambda: Library(db).close(), 5), ""))
        with Library(db) as lib:
            rows.append(("search: a rare word", timed(lambda: lib.search("zanzibar"), 20),
                         "< 50 ms"))
            rows.append(("search: two words, 50 best hits",
                         timed(lambda: lib.search("yellow lamps"), 20), "< 50 ms"))
            rows.append(("search: a word in every transcript, 50 best hits",
                         timed(lambda: lib.search("shelley's"), 10), "< 50 ms"))
            rows.append(("search: 'the' (in most segments), 50 best hits",
                         timed(lambda: lib.search("the"), 10), "< 50 ms"))
            rows.append(("search as you type: 'wand'", timed(lambda: lib.search("wand"), 10),
                         "< 50 ms"))

    print(f"2-hour transcript: {SEGMENTS} segments, {n_words} words; search library filled "
          f"in {fill_s:.0f} s with {args.transcripts} transcripts of 120 segments.\n")
    print("| step | median | worst | target |")
    print("|---|---|---|---|")
    for name, times, target in rows:
        print(f"| {name} | {statistics.median(times):.1f} ms | {max(times):.1f} ms | "
              f"{target or '–'} |")


if __name__ == "__main__":
    main()
