"""Where our engine spends its time on one clip: start-up, then each stage of a transcription.

Three views, all on the same clip and model:
1. start-up: ``python -X importtime`` of the engine module and the time to load the model;
2. stages: the engine's own calls (VAD, log-Mel, encoder, decoder, alignment) timed by
   wrapping them in this process (the engine's files are not touched), with tokens counted;
3. a numpy decoder step (the CPU backend) for 1, 3 and 5 rows, each part timed in the flow
   of consecutive steps (alone, a part would find its data in the cache);
and a pyinstrument profile of the whole transcription (when pyinstrument is installed).

    .venv/bin/python bench/profile_engine.py --model tiny.en --clip en_long_librispeech
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clips import REPO, SHARED_AUDIO  # noqa: E402
from bench_models import prepare  # noqa: E402

OUT = REPO / "bench" / "out"


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def time(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - t0
            self.calls[name] += 1

    def wrap(self, owner, attr: str, name: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            with self.time(name):
                return original(*args, **kwargs)

        setattr(owner, attr, timed)


def startup(model_dir: Path) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    code = (
        "import time; t=time.perf_counter();"
        "from stenogram.core.engine import Transcriber; t1=time.perf_counter();"
        f"Transcriber().load({str(model_dir)!r}); t2=time.perf_counter();"
        "print(f'IMPORT {t1-t:.3f} LOAD {t2-t1:.3f}')"
    )
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in run.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    lines = [f"start-up: {run.stdout.strip()} (seconds; engine import, then model load)"]
    lines += ["slowest imports (cumulative µs):"]
    lines += [f"  {us / 1e6:7.3f} s {name}" for us, name in rows[:12]]
    # the engine module alone imports neither mlx nor mlx_whisper: they come with load()
    return lines


def stages(model_dir: Path, clip: Path, vad: bool) -> tuple[list[str], object]:
    """Time the engine's own stages by wrapping its collaborators in this process."""
    import stenogram.core.engine as engine
    from stenogram.core.cpu_decoder import DecoderSession
    from stenogram.core.decoder_session import MlxDecoderSession
    from stenogram.core.engine import TranscribeOptions, Transcriber
    from stenogram.core.media import load_audio
    from stenogram.core.whisper_runtime import WhisperRuntime

    sw = Stopwatch()
    tokens = {"n": 0, "windows": 0}

    def count_steps(owner) -> None:
        original_step = owner.step

        def step(self, last_tokens):
            with sw.time("decoder steps"):
                out = original_step(self, last_tokens)
            tokens["n"] += 1
            return out

        owner.step = step

    for owner in (DecoderSession, MlxDecoderSession):
        count_steps(owner)
        sw.wrap(owner, "start", "decoder prompt + cross keys/values")
    sw.wrap(WhisperRuntime, "_encode", "encoder")
    sw.wrap(WhisperRuntime, "detect_language", "language detection")
    sw.wrap(WhisperRuntime, "align_words", "word alignment")
    sw.wrap(engine, "log_mel_features", "log-Mel")
    sw.wrap(engine, "prepare_speech", "decode + VAD + pack speech")
    audio = load_audio(clip)
    t = Transcriber()
    options = TranscribeOptions(model=str(model_dir), vad=vad)
    t.load(options.model)
    t.transcribe(audio[: 16000 * 5], options)  # warm up
    for key in list(sw.seconds):
        sw.seconds[key], sw.calls[key] = 0.0, 0
    tokens.update(n=0)
    results = {}
    for words in (False, True):
        opts = TranscribeOptions(model=str(model_dir), vad=vad, word_timestamps=words)
        before = dict(sw.seconds)
        t0 = time.perf_counter()
        transcript = t.transcribe(audio, opts)
        results[words] = (
            time.perf_counter() - t0,
            {k: sw.seconds[k] - before.get(k, 0.0) for k in sw.seconds},
        )
        if not words:
            n_steps = tokens["n"]
    duration = len(audio) / 16000
    lines = [f"clip {clip.name}: {duration:.1f} s of audio, VAD {'on' if vad else 'off'}"]
    for words, (total, parts) in results.items():
        lines.append(f"  word_timestamps={words}: total {total:.2f} s (RTF {total / duration:.3f})")
        accounted = 0.0
        for name, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
            if seconds:
                accounted += seconds
                lines.append(f"    {name:22s} {seconds:7.3f} s  {100 * seconds / total:5.1f}%")
        lines.append(f"    {'rest (Python, guards)':22s} {total - accounted:7.3f} s")
    dec = results[False][1].get("decoder steps", 0.0)
    lines.append(f"  decoder: {n_steps} batched steps, {1000 * dec / max(1, n_steps):.1f} ms each")
    return lines, transcript


# (audios, rows of each): one audio's beams, then a batch of windows decoded greedily
STEP_SHAPES = ((1, 1), (1, 5), (3, 1), (3, 5), (6, 1), (6, 5))


def token_step_breakdown(model_dir: Path, shapes: tuple[tuple[int, int], ...] = STEP_SHAPES) -> list[str]:
    """What a numpy decoder step (CPU) spends on each part, for a few shapes of a step, measured
    in the flow of consecutive steps (each part alone would find its data in cache)."""
    import numpy as np

    from stenogram.core import cpu_decoder, half_matrix, vector_kernels
    from stenogram.core.whisper_runtime import WhisperRuntime

    runtime = WhisperRuntime(model_dir)
    decoder = getattr(runtime.model, "numpy_decoder", None)
    if decoder is None:
        return ["no numpy decoder: this runtime decodes with MLX (a GPU, or STENOGRAM_MLX_ENCODER=1)"]
    sw = Stopwatch()
    session_class = cpu_decoder.DecoderSession
    parts = {"_self_attention": "self-attention", "_cross_attention": "cross-attention", "_project": "vocabulary projection"}
    for attr, name in parts.items():
        sw.wrap(session_class, attr, name)
    sw.wrap(cpu_decoder, "_gelu", "GELU")
    sw.wrap(cpu_decoder, "_layer_norm", "layer norms")
    if decoder.half:  # every weight product, wherever it is called from
        sw.wrap(half_matrix.HalfMatrix, "__rmatmul__", "  (of which weight products)")
    if decoder.kernels:
        sw.wrap(vector_kernels, "cross_attend", "  (of which cross-attention kernel)")
        sw.wrap(vector_kernels, "self_attend", "  (of which self-attention kernel)")
    rng = np.random.default_rng(0)
    sot = runtime.tokenizer("en", "transcribe").sot_sequence
    lines = []
    for audios, group in shapes:
        features = rng.standard_normal((audios, 1500, runtime.model.dims.n_audio_state), dtype=np.float32)
        session = decoder.session()
        session.start(np.array([sot] * audios, dtype=np.int32), features, (0,))
        session.repeat_rows(group)  # rows of each audio, as a beam search's
        rows = audios * group
        for _ in range(20):
            session.step(np.full(rows, 440, dtype=np.int32))
        sw.seconds.clear()
        n = 50
        t0 = time.perf_counter()
        for _ in range(n):
            session.step(np.full(rows, 440, dtype=np.int32))
        step_ms = 1000 * (time.perf_counter() - t0) / n
        lines.append(f"decoder step, {group} row(s) of each of {audios} audio(s): {step_ms:.2f} ms")
        for name, seconds in sorted(sw.seconds.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {name:24s} {1000 * seconds / n:6.2f} ms")
    return lines


def pyinstrument_profile(model_dir: Path, clip: Path, vad: bool) -> list[str]:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return ["pyinstrument is not installed (pip install pyinstrument)"]
    from stenogram.core.engine import TranscribeOptions, Transcriber
    from stenogram.core.media import load_audio

    audio = load_audio(clip)
    t = Transcriber()
    options = TranscribeOptions(model=str(model_dir), vad=vad)
    t.transcribe(audio[: 16000 * 5], options)
    profiler = Profiler(interval=0.002)
    profiler.start()
    t.transcribe(audio, options)
    profiler.stop()
    OUT.mkdir(parents=True, exist_ok=True)
    html = OUT / f"profile-{model_dir.name}-{clip.stem}.html"
    html.write_text(profiler.output_html(), encoding="utf-8")
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    (OUT / f"profile-{model_dir.name}-{clip.stem}.txt").write_text(text, encoding="utf-8")
    return [f"pyinstrument: {html.relative_to(REPO)}", text]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--clip", default="en_long_librispeech")
    p.add_argument("--no-vad", action="store_true")
    p.add_argument("--skip", default="", help="comma list of: startup,stages,steps,pyinstrument")
    args = p.parse_args()
    skip = set(args.skip.split(","))
    model_dir = prepare(args.model).mlx
    clip = SHARED_AUDIO / f"{args.clip}.flac"
    if not clip.exists():
        clip = Path(args.clip)
    vad = not args.no_vad
    from stenogram.core.mlx_runtime import ensure_mlx

    if "startup" not in skip:
        print("\n".join(startup(model_dir)), flush=True)
    ensure_mlx()
    if "stages" not in skip:
        print("\n".join(stages(model_dir, clip, vad)[0]), flush=True)
    if "steps" not in skip:
        print("\n".join(token_step_breakdown(model_dir)), flush=True)
    if "pyinstrument" not in skip:
        print("\n".join(pyinstrument_profile(model_dir, clip, vad)), flush=True)


if __name__ == "__main__":
    main()
