"""Engine benchmark: ours against plain mlx_whisper and faster-whisper, same weights and clips.

Each engine runs in its own subprocess (bench/engine_worker.py), so load time and peak RSS
are its own. Prints a table, writes it as markdown under bench/out/, and appends it to
bench/RESULTS.md.

    .venv/bin/python bench/engine.py --quick                  # a few minutes per model
    .venv/bin/python bench/engine.py                          # all clips + a 10-minute recording
    .venv/bin/python bench/engine.py --long --models tiny.en  # also 1 hour of speech (memory)
    .venv/bin/python bench/engine.py --quick --models base --engines ours,fw-int8 --clips jfk
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clips import REPO, Clip, one_hour_clip, select_clips  # noqa: E402
from bench_engines import DEFAULT_ENGINES, ENGINES, ModelPaths  # noqa: E402
from bench_models import is_multilingual, prepare  # noqa: E402
from engine_report import Run, long_section, model_section  # noqa: E402

OUT = REPO / "bench" / "out"
RESULTS = REPO / "bench" / "RESULTS.md"
WORKER = Path(__file__).resolve().parent / "engine_worker.py"
SLOW_QUICK_CLIPS = 2  # plain mlx_whisper defaults: this many shortest speech clips in --quick
LONG_ENGINES = ("ours", "fw-int8")
# The 1-hour runs are memory probes: everything that grows with the file (decoded audio, VAD,
# packed speech, log-Mel frames; faster-whisper's whole-file features) is allocated before the
# first window is decoded, so stopping after a few windows still sees the peak. A whole run
# takes about an hour per engine on this shared machine.
LONG_STOP = 0.05
MACHINE = "2 vCPU AMD EPYC Zen 4, Linux, mlx[cpu] 0.32.4 + OpenBLAS"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a few clips; mlx defaults on 2 only")
    p.add_argument("--long", action="store_true", help="also a 1-hour file (peak RSS)")
    p.add_argument("--long-only", action="store_true", help="only the 1-hour runs")
    p.add_argument(
        "--long-stop",
        type=float,
        default=LONG_STOP,
        help="1-hour runs stop after this fraction of the audio (1 = whole file)",
    )
    p.add_argument("--models", default="tiny.en,base")
    p.add_argument("--engines", default=",".join(DEFAULT_ENGINES))
    p.add_argument("--clips", default="", help="comma-separated clip names (stems)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per worker")
    p.add_argument("--no-append", action="store_true", help="don't append to RESULTS.md")
    p.add_argument("--note", default="", help="a line to add under the heading")
    p.add_argument("--render", default="", help="print the tables of a saved engine-*.json")
    return p.parse_args(argv)


def run_worker(
    model: str,
    engine: str,
    paths: ModelPaths,
    clips: list[Clip],
    timeout: float,
    *,
    warmup: Path | None,
    pass_path: bool = False,
    stop_after: float | None = None,
) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        clips_file, out_file = Path(tmp) / "clips.json", Path(tmp) / "out.json"
        clips_file.write_text(json.dumps([c.to_dict() for c in clips]))
        cmd = [
            sys.executable,
            str(WORKER),
            "--engine",
            engine,
            "--paths",
            json.dumps({k: str(v) for k, v in vars(paths).items()}),
            "--clips",
            str(clips_file),
            "--out",
            str(out_file),
        ]
        if warmup is not None:
            cmd += ["--warmup", str(warmup)]
        if pass_path:
            cmd.append("--pass-path")
        if stop_after is not None and stop_after < 1:
            cmd += ["--stop-after", str(stop_after)]
        print(f"[{model}] {engine}: {len(clips)} clips", file=sys.stderr, flush=True)
        env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
        try:
            subprocess.run(cmd, timeout=timeout, env=env, check=False)
            result = (
                json.loads(out_file.read_text())
                if out_file.exists()
                else {"error": "the worker died without a result (killed for memory?)"}
            )
        except subprocess.TimeoutExpired:
            result = {"error": f"timed out after {timeout:.0f} s"}
    return Run(model, engine, result, {c.name: c for c in clips})


PARTIAL = OUT / f"engine-partial-{os.getpid()}.jsonl"


def save_partial(run: Run) -> None:
    """Each worker's result as soon as it exists, so a failure later loses nothing."""
    OUT.mkdir(parents=True, exist_ok=True)
    row = {"model": run.model, "engine": run.engine, **run.result}
    row["clip_info"] = [c.to_dict() for c in run.clips.values()]
    with open(PARTIAL, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def clips_for(engine: str, clips: list[Clip], quick: bool) -> list[Clip]:
    """Plain mlx_whisper defaults is ~25 s per window here: fewer clips for it."""
    if engine != "mlx-defaults":
        return clips
    speech = [c for c in clips if not c.is_noise and not c.name.startswith("en_loop")]
    if quick:
        return sorted(speech, key=lambda c: c.duration_s)[:SLOW_QUICK_CLIPS]
    return speech


def bench_model(model: str, args: argparse.Namespace) -> list[Run]:
    paths = prepare(model)
    names = [n for n in args.clips.split(",") if n]
    clips = select_clips(is_multilingual(paths), args.quick, names or None)
    warmup = min(clips, key=lambda c: c.duration_s).path
    runs = []
    for engine in [e for e in args.engines.split(",") if e]:
        if engine not in ENGINES:
            raise SystemExit(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        mine = clips_for(engine, clips, args.quick)
        if mine:
            runs.append(run_worker(model, engine, paths, mine, args.timeout, warmup=warmup))
            save_partial(runs[-1])
    return [r for r in runs if not (r.error or "").startswith("SKIP")] + [
        r for r in runs if (r.error or "").startswith("SKIP")
    ]


def bench_long(
    models: list[str], engines: list[str], timeout: float, stop_after: float
) -> list[Run]:
    clip = one_hour_clip()
    runs = []
    for model in models:
        paths = prepare(model)
        for engine in engines:
            # ours gets the path, as the app gives it; the others get load_audio's samples
            runs.append(
                run_worker(
                    model,
                    engine,
                    paths,
                    [clip],
                    timeout,
                    warmup=None,
                    pass_path=engine.startswith("ours"),
                    stop_after=stop_after,
                )
            )
            save_partial(runs[-1])
    return runs


def heading(args: argparse.Namespace) -> list[str]:
    mode = "quick" if args.quick else "full"
    if args.long_only:
        mode = "1-hour only"
    elif args.long:
        mode += " + 1-hour"
    lines = [
        f"## Engine benchmark, {dt.date.today().isoformat()} ({mode})",
        "",
        f"Machine: {MACHINE} (python {platform.python_version()}). The machine is shared with "
        "other engineers' test runs on its 2 cores, so wall times are noisy (load average "
        f"{os.getloadavg()[0]:.1f} at the start). Command: `bench/engine.py "
        f"{_command_line()}`.",
        "RTF = wall / audio duration (lower is faster); decoding the file (load_audio) is "
        "not timed; one untimed warm-up run on the shortest clip per engine, except "
        "mlx-defaults. Ratios: an engine's RTF divided by ours (VAD on) on the clips both ran.",
        "",
    ]
    if args.note:
        lines += [args.note, ""]
    return lines


def render(path: Path) -> None:
    """The tables of an earlier run, from its JSON (e.g. after changing the report)."""
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text) if path.suffix == ".json" else [json.loads(x) for x in text.splitlines()]
    runs = [
        Run(
            r["model"],
            r["engine"],
            r,
            {c["name"]: Clip.from_dict(c) for c in r.get("clip_info", [])},
        )
        for r in raw
    ]
    longs = [r for r in runs if "en_loop_60min" in r.clips]
    for model in dict.fromkeys(r.model for r in runs if r not in longs):
        print(
            "\n".join(
                model_section(model, [r for r in runs if r.model == model and r not in longs])
            )
        )
    if longs:
        stop = next((r.result["stop_after"] for r in longs if "stop_after" in r.result), 1.0)
        print("\n".join(long_section(longs, stop)))


def _command_line() -> str:
    """This run's arguments, without the --note text (printed on its own line)."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--note":
            skip = True
        elif not arg.startswith("--note="):
            args.append(arg)
    return " ".join(args)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.render:
        render(Path(args.render))
        return
    models = [m for m in args.models.split(",") if m]
    lines = heading(args)
    all_runs: list[Run] = []
    if not args.long_only:
        for model in models:
            runs = bench_model(model, args)
            all_runs += runs
            lines += model_section(model, runs)
            print("\n".join(model_section(model, runs)), flush=True)
    if args.long or args.long_only:
        engines = [e for e in args.engines.split(",") if e in LONG_ENGINES] or list(LONG_ENGINES)
        runs = bench_long(models, engines, args.timeout, args.long_stop)
        all_runs += runs
        lines += long_section(runs, args.long_stop)
        print("\n".join(long_section(runs, args.long_stop)), flush=True)
    write_outputs(lines, all_runs, append=not args.no_append)


def write_outputs(lines: list[str], runs: list[Run], append: bool) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "\n".join(lines) + "\n"
    (OUT / f"engine-{stamp}.md").write_text(text, encoding="utf-8")
    raw = [
        {
            "model": r.model,
            "engine": r.engine,
            **r.result,
            "clip_info": [c.to_dict() for c in r.clips.values()],
        }
        for r in runs
    ]
    (OUT / f"engine-{stamp}.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    if append:
        # append mode: other engineers' sections stay as they are, even when written meanwhile
        new = not RESULTS.exists()
        with open(RESULTS, "a", encoding="utf-8") as f:
            f.write(("# Benchmarks\n" if new else "") + "\n" + text)
    print(
        f"\nwritten: bench/out/engine-{stamp}.md"
        + (", appended to bench/RESULTS.md" if append else "")
    )


if __name__ == "__main__":
    main()
