"""One engine, one model, a list of clips: run in a fresh process by bench/engine.py.

Prints nothing the parent parses; the result goes to the JSON file named by --out, so that
whatever the libraries print cannot corrupt it. Peak RSS is the process's high-water mark,
read at the end (and per clip where Linux lets us reset it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

T_START = time.perf_counter()

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clips import Clip  # noqa: E402
from bench_engines import ENGINES, ModelPaths, make_engine  # noqa: E402


def peak_rss_mb() -> float:
    """The high-water mark of resident memory in MB (VmHWM; ru_maxrss elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


def current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_peak_rss() -> bool:
    """Linux resets VmHWM to the current RSS when "5" is written to clear_refs."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def engine_source_hash() -> str:
    """A short hash of our engine's source as this worker saw it (it changes during work):
    every Python and C file of ``stenogram.core``, the engine's whole code."""
    import hashlib

    import stenogram.core

    core = Path(stenogram.core.__file__).parent
    digest = hashlib.sha1()
    for path in sorted([*core.glob("*.py"), *core.glob("*.c")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--engine", required=True, choices=sorted(ENGINES))
    p.add_argument("--paths", required=True, help="JSON of ModelPaths")
    p.add_argument("--clips", required=True, help="JSON file: list of clips")
    p.add_argument("--warmup", default="", help="a clip path to run once untimed")
    p.add_argument("--pass-path", action="store_true", help="give the engine the file path")
    p.add_argument("--stop-after", type=float, default=None, help="fraction: memory probe")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    out: dict = {"engine": args.engine, "clips": [], "engine_source": engine_source_hash()}
    if args.stop_after is not None:
        out["stop_after"] = args.stop_after
    try:
        _run(args, out)
    except SystemExit as stop:
        out["error"] = str(stop)
    except Exception:  # the parent reports it; the other engines go on
        out["error"] = traceback.format_exc(limit=6)
    out["peak_rss_mb"] = max(peak_rss_mb(), out.get("peak_rss_mb", 0.0))
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")


def _run(args: argparse.Namespace, out: dict) -> None:
    from stenogram.core.media import load_audio

    spec = ENGINES[args.engine]
    raw = json.loads(args.paths)
    paths = ModelPaths(**{k: Path(v) for k, v in raw.items()})
    clips = [Clip.from_dict(d) for d in json.loads(Path(args.clips).read_text())]
    engine = make_engine(args.engine)
    t0 = time.perf_counter()
    engine.load(paths)
    out["load_s"] = time.perf_counter() - t0
    out["start_to_loaded_s"] = time.perf_counter() - T_START
    out["rss_after_load_mb"] = current_rss_mb()
    if args.warmup and spec.warm_up:
        t0 = time.perf_counter()
        engine.run(load_audio(args.warmup))
        out["warmup_s"] = time.perf_counter() - t0
    for clip in clips:
        gc.collect()
        media = clip.path if args.pass_path else load_audio(clip.path)
        out["peak_rss_mb"] = max(peak_rss_mb(), out.get("peak_rss_mb", 0.0))
        per_clip_peak = reset_peak_rss()
        t0, c0 = time.perf_counter(), time.process_time()
        text, language = engine.run(media, args.stop_after)
        # CPU seconds of all threads: less disturbed than wall time on a shared machine
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        del media
        row = {"name": clip.name, "wall_s": wall, "cpu_s": cpu, "text": text, "language": language}
        if per_clip_peak:  # this clip's own peak, decoded audio included
            row["peak_rss_mb"] = peak_rss_mb()
        out["peak_rss_mb"] = max(peak_rss_mb(), out["peak_rss_mb"])
        out["clips"].append(row)
        print(
            f"  {args.engine:14s} {clip.name:30s} {wall:7.2f} s ({cpu:6.2f} s CPU)  {text[:50]!r}",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
