"""Turn the workers' results into tables: per engine, per clip, and the issues' targets.

RTF = wall time / audio duration. Ratios compare an engine with ours ("ours", VAD on) on the
clips both ran, so a slow engine that ran only a few clips is still compared fairly.
WER sums errors and reference words over clips (a corpus WER), with the project's normaliser.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench_clips import Clip
from bench_engines import ENGINES
from stenogram.core.evaluation import normalise, word_errors

OURS = "ours"


@dataclass
class Run:
    """One engine's worker result for one model."""

    model: str
    engine: str
    result: dict  # the worker's JSON
    clips: dict[str, Clip]

    @property
    def rows(self) -> dict[str, dict]:
        return {r["name"]: r for r in self.result.get("clips", [])}

    @property
    def error(self) -> str | None:
        return self.result.get("error")


def rtf(run: Run, names: set[str] | None = None, key: str = "wall_s") -> float | None:
    """Seconds (wall, or CPU with key="cpu_s") per second of audio over the chosen clips."""
    rows = [r for n, r in run.rows.items() if names is None or n in names]
    audio = sum(run.clips[r["name"]].duration_s for r in rows)
    return sum(r[key] for r in rows) / audio if audio else None


def ratio_to(run: Run, ours: Run | None, key: str = "wall_s") -> tuple[float | None, int]:
    """(the engine's RTF / ours on the clips both ran, how many clips)"""
    if ours is None:
        return None, 0
    common = set(run.rows) & set(ours.rows)
    mine, theirs = rtf(run, common, key), rtf(ours, common, key)
    return (mine / theirs if mine and theirs else None), len(common)


def wer_of(run: Run, langs: set[str], names: set[str] | None = None) -> tuple[float | None, int]:
    """(corpus WER, number of clips) over speech clips in ``langs``."""
    errors = words = count = 0
    for name, row in run.rows.items():
        clip = run.clips[name]
        if clip.lang in langs and clip.reference and (names is None or name in names):
            e, w = word_errors(clip.reference, row["text"])
            errors, words, count = errors + e, words + w, count + 1
    return (errors / words if words else None), count


def noise_words(run: Run) -> int | None:
    rows = [r for n, r in run.rows.items() if run.clips[n].is_noise]
    return sum(len(normalise(r["text"])) for r in rows) if rows else None


def _error_line(error: str) -> str:
    last = error.strip().splitlines()[-1]
    return last[:100] if last.startswith("SKIP") else "error: " + last[:90]


def _f(x: float | None, fmt: str = "{:.3f}") -> str:
    return "–" if x is None else fmt.format(x)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def summary_table(runs: list[Run]) -> list[str]:
    ours = next((r for r in runs if r.engine == OURS and not r.error), None)
    rows = []
    for run in runs:
        if run.error:
            rows.append([run.engine, _error_line(run.error)] + [""] * 9)
            continue
        ratio, _ = ratio_to(run, ours)
        cpu_ratio, _ = ratio_to(run, ours, "cpu_s")
        en, n_en = wer_of(run, {"en"})
        other, n_other = wer_of(run, {"de", "fr", "es"})
        rows.append(
            [
                run.engine,
                _f(run.result.get("load_s"), "{:.2f} s"),
                _f(rtf(run)),
                _f(ratio, "{:.2f}x"),
                _f(cpu_ratio, "{:.2f}x"),
                f"{_pct(en)} ({n_en})",
                f"{_pct(other)} ({n_other})" if n_other else "–",
                _f(noise_words(run), "{:d}"),
                _f(run.result.get("peak_rss_mb"), "{:.0f}"),
                str(len(run.rows)),
            ]
        )
    header = [
        "engine",
        "load",
        "RTF (its clips)",
        "RTF / ours (common clips)",
        "CPU time / ours",
        "WER en (clips)",
        "WER de/fr/es (clips)",
        "noise words",
        "peak RSS MB",
        "clips",
    ]
    return _table(header, rows)


def clip_table(runs: list[Run]) -> list[str]:
    """Wall seconds, RTF and WER for every clip and engine."""
    ok = [r for r in runs if not r.error]
    names: list[str] = []
    for run in ok:
        names += [n for n in run.rows if n not in names]
    rows = []
    for name in names:
        clip = next(r.clips[name] for r in ok if name in r.clips)
        cells = [f"{name} ({clip.duration_s:.1f} s)"]
        for run in ok:
            row = run.rows.get(name)
            if row is None:
                cells.append("")
                continue
            cell = f"{row['wall_s']:.2f} s / {row['wall_s'] / clip.duration_s:.3f}"
            if clip.reference:
                cell += f" / {_pct(word_errors(clip.reference, row['text'])[0] / max(1, len(normalise(clip.reference))))}"
            else:
                cell += f" / {len(normalise(row['text']))} words"
            cells.append(cell)
        rows.append(cells)
    return _table(["clip"] + [r.engine for r in ok], rows)


def targets(runs: list[Run]) -> list[str]:
    """Each issue's target for this model, met or not, on the clips the engines share."""
    by = {r.engine: r for r in runs if not r.error}
    ours = by.get(OURS)
    if ours is None:
        return ["- ours did not run: no targets checked"]
    out = []

    def speed(other: str, factor: float, issue: str) -> None:
        run = by.get(other)
        if run is None:
            return
        common = set(run.rows) & set(ours.rows)
        ratio = rtf(run, common) / rtf(ours, common)
        w_ours, _ = wer_of(ours, {"en", "de", "fr", "es"}, common)
        w_other, _ = wer_of(run, {"en", "de", "fr", "es"}, common)
        met = ratio >= factor
        out.append(
            f"- {issue}: ours ≥ {factor:g}x faster than {other} — "
            f"{'MET' if met else 'NOT MET'} ({ratio:.2f}x on {len(common)} common clips; "
            f"WER ours {_pct(w_ours)} vs {_pct(w_other)})"
        )

    speed("mlx-defaults", 4, "issue 3")
    speed("mlx-defaults", 8, "issue 7")
    fw = by.get("fw-int8")
    if fw is not None:
        common = set(fw.rows) & set(ours.rows)
        a, b = rtf(ours, common), rtf(fw, common)
        out.append(
            f"- issue 7: ours RTF ≤ faster-whisper int8 beam 1 — {'MET' if a <= b else 'NOT MET'} "
            f"({a:.3f} vs {b:.3f}, all {len(common)} common clips)"
        )
        for long in ("en_long_librispeech", "en_loop_10min"):
            if long in common:
                a, b = rtf(ours, {long}), rtf(fw, {long})
                out.append(f"  - on {long}: {a:.3f} vs {b:.3f} — {'MET' if a <= b else 'NOT MET'}")
    novad = by.get("ours-novad")
    if novad is not None:
        common = set(novad.rows) & set(ours.rows)
        a, _ = wer_of(ours, {"en", "de", "fr", "es"}, common)
        b, _ = wer_of(novad, {"en", "de", "fr", "es"}, common)
        if a is not None and b is not None:
            out.append(
                f"- issue 7: WER with VAD no worse than without by > 0.5 points — "
                f"{'MET' if a - b <= 0.005 else 'NOT MET'} ({_pct(a)} vs {_pct(b)})"
            )
    for name, run in by.items():
        words = noise_words(run)
        if words is not None and name.startswith("ours"):
            out.append(
                f"- issue 9: zero words on noise ({name}) — "
                f"{'MET' if words == 0 else 'NOT MET'} ({words} words)"
            )
    beam, fw_beam = by.get("ours-beam5"), by.get("fw-int8-beam5")
    if beam is None:
        out.append("- issue 9: beam 5 targets — not measured (ours-beam5 did not run)")
    else:
        common = set(beam.rows) & set(ours.rows)
        ratio = rtf(beam, common) / rtf(ours, common)
        out.append(
            f"- issue 9: beam 5 RTF ≤ 1.5x our greedy — {'MET' if ratio <= 1.5 else 'NOT MET'} "
            f"({ratio:.2f}x)"
        )
        for group, langs in (("en", {"en"}), ("de/fr/es", {"de", "fr", "es"})):
            if fw_beam is None:
                break
            shared = set(beam.rows) & set(fw_beam.rows)
            a, n = wer_of(beam, langs, shared)
            b, _ = wer_of(fw_beam, langs, shared)
            if n and a is not None and b is not None:
                out.append(
                    f"- issue 9: beam 5 WER ≤ faster-whisper beam 5 ({group}) — "
                    f"{'MET' if a <= b else 'NOT MET'} ({_pct(a)} vs {_pct(b)}, {n} clips)"
                )
    return out


def model_section(model: str, runs: list[Run]) -> list[str]:
    lines = [f"### {model}", ""]
    for r in runs:
        source = r.result.get("engine_source")
        seen = f" (engine source {source})" if source and r.engine.startswith("ours") else ""
        lines.append(f"- `{r.engine}`: {ENGINES[r.engine].description}{seen}")
    lines += [
        "",
        *summary_table(runs),
        "",
        "Per clip: wall time / RTF / WER (or words on noise)",
        "",
    ]
    lines += [*clip_table(runs), "", "Targets:", "", *targets(runs), ""]
    return lines


def long_section(runs: list[Run], stop_after: float) -> list[str]:
    whole = stop_after >= 1
    rows = []
    for run in runs:
        if run.error:
            rows.append([run.model, run.engine, _error_line(run.error), "", "", "", "", ""])
            continue
        row = next(iter(run.rows.values()), {})
        w, _ = wer_of(run, {"en"}) if whole else (None, 0)
        peak = run.result.get("peak_rss_mb", 1e9)
        rows.append(
            [
                run.model,
                run.engine,
                "path" if run.engine.startswith("ours") else "load_audio samples",
                _f(row.get("wall_s"), "{:.0f} s"),
                _f(rtf(run)) if whole else "–",
                _pct(w),
                f"{peak:.0f}",
                "≤ 1 GiB: " + ("MET" if peak <= 1024 else "NOT MET"),
            ]
        )
    header = ["model", "engine", "input", "wall", "RTF", "WER", "peak RSS MiB", "target"]
    clip = next((c for r in runs for c in r.clips.values()), None)
    what = f"{clip.duration_s / 60:.1f} minutes" if clip else "one hour"
    lines = [f"### One hour of real speech ({what}): peak memory", ""]
    if not whole:
        lines += [
            f"Memory probe: each run stops once {100 * stop_after:.0f}% of the audio is "
            "decoded. Everything that grows with the file (decoded samples, VAD, packed "
            "speech, log-Mel frames; faster-whisper's whole-file features) is allocated "
            "before the first window, so the peak is already reached; the rest of a run only "
            "adds segments. Wall = load + VAD + features + the decoded part.",
            "",
        ]
    return lines + [*_table(header, rows), ""]
