"""The clips the engine benchmark runs on: real recordings with human references.

The short clips come from ../shared/audio (see its README). The long ones are built here by
joining real clips end to end (no synthetic speech), with their references joined the same
way, and cached as 16-bit WAV under bench/out/cache (git-ignored).
"""

from __future__ import annotations

import csv
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED_AUDIO = REPO.parent / "shared" / "audio"
CACHE = REPO / "bench" / "out" / "cache"
SAMPLE_RATE = 16_000  # Hz, what every engine takes
LOOP_GAP_S = 1.0  # digital silence between joined clips, like a pause between speakers
# The joined recordings cycle through these real clips (English, with references).
LOOP_PARTS = ("en_long_librispeech.flac", "jfk.flac", "en_two_speakers.flac")
TEN_MINUTES_S = 600.0
ONE_HOUR_S = 3600.0

ENGLISH_QUICK = (
    "jfk.flac",
    "en_ls_1089-134686-0002.flac",
    "en_ls_1089-134686-0010.flac",
    "en_ls_2830-3980-0000.flac",
    "en_long_librispeech.flac",
)
ENGLISH_FULL = (
    "jfk.flac",
    "en_ls_1089-134686-0002.flac",
    "en_ls_1089-134686-0005.flac",
    "en_ls_1089-134686-0010.flac",
    "en_ls_1089-134686-0020.flac",
    "en_ls_1221-135766-0001.flac",
    "en_ls_1221-135766-0002.flac",
    "en_ls_2830-3980-0000.flac",
    "en_ls_6930-75918-0000.flac",
    "en_long_librispeech.flac",
    "en_two_speakers.flac",
)
OTHER_LANGUAGES = ("de_fleurs.flac", "fr_fleurs.flac", "es_fleurs.flac")
NOISE_QUICK = ("noise_dishes.flac",)
NOISE_FULL = ("noise_dishes.flac", "noise_exercise_bike.flac")


@dataclass(frozen=True)
class Clip:
    """One recording to transcribe; ``reference`` is empty for noise (expect no words)."""

    name: str
    path: Path
    lang: str  # "" for noise
    duration_s: float
    reference: str

    @property
    def is_noise(self) -> bool:
        return not self.lang

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "path": str(self.path),
            "lang": self.lang,
            "duration_s": self.duration_s,
            "reference": self.reference,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Clip:
        return cls(d["name"], Path(d["path"]), d["lang"], float(d["duration_s"]), d["reference"])


def read_refs(folder: Path = SHARED_AUDIO) -> dict[str, dict[str, str]]:
    with open(folder / "refs.tsv", newline="", encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}


def shared_clip(file: str, refs: dict[str, dict[str, str]]) -> Clip:
    row = refs[file]
    return Clip(
        name=file.removesuffix(".flac"),
        path=SHARED_AUDIO / file,
        lang=row["lang"],
        duration_s=float(row["duration_s"]),
        reference=row["reference"],
    )


def joined_clip(name: str, target_s: float, refs: dict[str, dict[str, str]]) -> Clip:
    """A real recording of at least ``target_s``: LOOP_PARTS cycled, 1 s of silence between.

    Built once and cached; the reference is the parts' references in the same order."""
    path = CACHE / f"{name}.wav"
    ref_path = CACHE / f"{name}.txt"
    if not (path.is_file() and ref_path.is_file()):
        _write_joined(path, ref_path, target_s, refs)
    with wave.open(str(path), "rb") as w:
        duration = w.getnframes() / w.getframerate()
    return Clip(name, path, "en", round(duration, 2), ref_path.read_text(encoding="utf-8"))


def _write_joined(
    path: Path, ref_path: Path, target_s: float, refs: dict[str, dict[str, str]]
) -> None:
    from stenogram.core.media import load_audio

    CACHE.mkdir(parents=True, exist_ok=True)
    parts = {f: _pcm16(load_audio(SHARED_AUDIO / f)) for f in LOOP_PARTS}
    gap = np.zeros(int(LOOP_GAP_S * SAMPLE_RATE), dtype=np.int16)
    texts: list[str] = []
    written = 0
    tmp = path.with_suffix(".partial")
    with wave.open(str(tmp), "wb") as w:  # streamed: a 1-hour file never sits in memory
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        i = 0
        while written < target_s * SAMPLE_RATE:
            part = LOOP_PARTS[i % len(LOOP_PARTS)]
            if i:
                w.writeframes(gap.tobytes())
                written += len(gap)
            w.writeframes(parts[part].tobytes())
            written += len(parts[part])
            texts.append(refs[part]["reference"].strip())
            i += 1
    ref_path.write_text(" ".join(texts), encoding="utf-8")
    tmp.replace(path)


def _pcm16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def select_clips(
    model_multilingual: bool,
    quick: bool,
    names: list[str] | None = None,
    *,
    with_ten_minutes: bool = True,
) -> list[Clip]:
    """The clips for one model: English and noise; other languages for a multilingual model.

    ``names`` (file names or stems, or "en_loop_10min") picks a subset instead."""
    refs = read_refs()
    english = ENGLISH_QUICK if quick else ENGLISH_FULL
    files = list(english) + (list(OTHER_LANGUAGES) if model_multilingual else [])
    files += list(NOISE_QUICK if quick else NOISE_FULL)
    clips = [shared_clip(f, refs) for f in files]
    if with_ten_minutes and not quick:
        clips.append(joined_clip("en_loop_10min", TEN_MINUTES_S, refs))
    if names:
        wanted = {n.removesuffix(".flac") for n in names}
        pool = {c.name: c for c in clips}
        for n in wanted - set(pool):
            if n == "en_loop_10min":
                pool[n] = joined_clip(n, TEN_MINUTES_S, refs)
            elif f"{n}.flac" in refs:
                pool[n] = shared_clip(f"{n}.flac", refs)
            else:
                raise SystemExit(f"unknown clip {n!r}")
        clips = [pool[n] for n in pool if n in wanted]
        if not model_multilingual:
            clips = [c for c in clips if c.lang in ("", "en")]
    return clips


def one_hour_clip() -> Clip:
    return joined_clip("en_loop_60min", ONE_HOUR_S, read_refs())
