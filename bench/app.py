"""App benchmarks: launch to a shown window, opening a 2-hour transcript, timeline repaints,
typing latency. Run: `QT_QPA_PLATFORM=offscreen .venv/bin/python bench/app.py`.

Everything is measured on real widgets; the transcript and waveform are synthetic but sized
like a 2-hour recording (2,000 segments, 20,000 words, peaks at every zoom level).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
HOURS_MS = 2 * 3600 * 1000
SEGMENTS = 2000
WORDS_PER_SEGMENT = 10
LAUNCHES = 5

LAUNCH_SCRIPT = """
import sys, time
from stenogram.ui.app import create_application
app = create_application(sys.argv[:1])
from stenogram.ui.main_window import MainWindow
from stenogram.ui.settings import Settings
w = MainWindow(Settings(sys.argv[1])); w.show(); app.processEvents()
print("SHOWN", flush=True)
print("MLX", "mlx" in sys.modules, "mlx_whisper" in sys.modules, "stenogram.core.engine" in sys.modules)
"""


def launch_times(tmp: Path) -> tuple[list[float], str]:
    """Wall time from starting the interpreter to the window shown, in a fresh process each."""
    times, extra = [], ""
    env = dict(os.environ, STENOGRAM_HOME=str(tmp / "home"))
    for i in range(LAUNCHES):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH_SCRIPT, str(tmp / f"s{i}.ini")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        for line in proc.stdout:
            if line.startswith("SHOWN"):
                times.append(time.perf_counter() - start)
            elif line.startswith("MLX"):
                extra = line.strip()
        proc.wait()
    return times, extra


def two_hour_transcript():
    from stenogram.core.transcript import Segment, Transcript, Word

    step = HOURS_MS // SEGMENTS
    segments = []
    for i in range(SEGMENTS):
        start = i * step
        words = tuple(Word(start + k * 300, start + k * 300 + 250, f" word{k}", 0.9)
                      for k in range(WORDS_PER_SEGMENT))
        segments.append(Segment(start, start + step - 400, "".join(w.text for w in words), words))
    return Transcript(segments, language="en", duration_ms=HOURS_MS)


def two_hour_peaks():
    import numpy as np

    from stenogram.core.waveform import BUCKET_SIZES, SAMPLE_RATE, compute_peaks

    # One minute of noisy "speech" computed for real, then tiled to two hours level by level.
    rng = np.random.default_rng(0)
    minute = (rng.standard_normal(60 * SAMPLE_RATE) * np.repeat(rng.random(60 * 4), SAMPLE_RATE // 4)).astype(np.float32)
    one = compute_peaks(minute, BUCKET_SIZES)
    from stenogram.core.waveform import PeakLevel, WaveformPeaks

    levels = tuple(PeakLevel(lv.bucket, np.tile(lv.mins, 120), np.tile(lv.maxs, 120)) for lv in one.levels)
    return WaveformPeaks(samples=one.samples * 120, levels=levels)


def stats(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms (n={len(ms)})"


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="stenogram-bench-"))
    os.environ["STENOGRAM_HOME"] = str(tmp / "home")
    launches, imports = launch_times(tmp)
    print(f"launch → window shown: median {statistics.median(launches):.3f} s, "
          f"min {min(launches):.3f} s, max {max(launches):.3f} s ({LAUNCHES} fresh processes)")
    print(f"  after launch: {imports}  (mlx, mlx_whisper, engine imported?)")

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from stenogram.ui.app import create_application
    from stenogram.ui.main_window import MainWindow
    from stenogram.ui.qt_segment_model import COL_TEXT
    from stenogram.ui.settings import Settings

    app = create_application(sys.argv[:1])
    window = MainWindow(Settings(tmp / "bench.ini"))
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    transcript, peaks = two_hour_transcript(), two_hour_peaks()

    start = time.perf_counter()
    editor = window.open_transcript(transcript)
    editor.timeline.set_peaks(peaks)
    app.processEvents()
    editor.timeline.viewport().repaint()
    editor.table.viewport().repaint()
    opened = time.perf_counter() - start
    print(f"open a 2-hour transcript ({SEGMENTS} segments, {SEGMENTS * WORDS_PER_SEGMENT} words) "
          f"in the editor, to first frame: {opened * 1000:.0f} ms")

    tl = editor.timeline
    vp = tl.viewport()
    bar = tl.horizontalScrollBar()
    for label, pps in (("whole 2 h in view", None), ("50 px/s", 50.0), ("400 px/s", 400.0)):
        if pps is None:
            tl.fit_all()
        else:
            tl.set_zoom(pps, 0)
        frames = []
        for k in range(120):
            bar.setValue(int(bar.maximum() * k / 120))
            t = time.perf_counter()
            vp.repaint()
            frames.append((time.perf_counter() - t) * 1000)
        print(f"timeline repaint while scrolling ({label}): {stats(frames)}")
    frames = []
    tl.fit_all()
    for k in range(80):
        t = time.perf_counter()
        tl.zoom_by(1.12 if k < 40 else 1 / 1.12, vp.width() / 2)
        vp.repaint()
        frames.append((time.perf_counter() - t) * 1000)
    print(f"timeline zoom step + repaint (ctrl-wheel notch): {stats(frames)}")

    # Dragging an edge: each mouse move is a core SetTimes edit, a model update and a repaint.
    tl.set_zoom(100, 0)
    index = 1000
    bar.setValue(int(transcript.segments[index].start_ms / 10) - 200)
    gesture, frames = object(), []
    from stenogram.core.edits import SetTimes

    for k in range(60):
        t = time.perf_counter()
        editor.undo.push(SetTimes(index, end_ms=transcript.segments[index].end_ms - 5 * (k % 2 * 2 - 1)), gesture)
        vp.repaint()
        frames.append((time.perf_counter() - t) * 1000)
    print(f"edge drag step (core edit + table update + repaint): {stats(frames)}")

    # Typing: a key into the open text editor, and committing the line (ChangeText with word re-timing).
    row = 1500
    cell = editor.model.index(row, COL_TEXT)
    editor.select_segment(row)
    editor.table.edit(cell)
    app.processEvents()
    line = editor.table.open_editor()
    keys = []
    for ch in "and a correction typed here":
        t = time.perf_counter()
        QTest.keyClick(line, ch)
        app.processEvents()
        keys.append((time.perf_counter() - t) * 1000)
    print(f"typing latency, one key in a segment's text (key → processed): {stats(keys)}")
    t = time.perf_counter()
    QTest.keyClick(line, Qt.Key.Key_Return)
    while editor.table.open_editor() is not None:
        app.processEvents()
    editor.table.viewport().repaint()
    print(f"commit the typed line (ChangeText with word re-timing + repaint): {(time.perf_counter() - t) * 1000:.1f} ms")
    t = time.perf_counter()
    editor.undo.stack.undo()
    editor.table.viewport().repaint()
    print(f"undo it: {(time.perf_counter() - t) * 1000:.1f} ms")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "app"))
    sys.exit(main())
