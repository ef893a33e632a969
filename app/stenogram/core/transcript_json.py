"""Our JSON form of a transcript: keeps everything and round-trips exactly.

Schema (version 1)::

    {
      "format": "stenogram-transcript",     # always this string
      "version": 1,
      "language": "en" | null,
      "media_path": "/path/clip.mp3" | null,
      "model": "tiny.en" | null,
      "options": {...},                     # JSON values only (lists, not tuples)
      "duration_ms": 123000 | null,
      "created": "2026-11-25T10:00:00.123456+00:00",   # ISO 8601 with offset
      "modified": "…same…",
      "segments": [
        {
          "start_ms": 0, "end_ms": 2500,    # integers, milliseconds
          "text": " Hello world.",          # exactly as stored (Whisper's leading space kept)
          "speaker": "Ann" | null,
          "avg_logprob": -0.2 | null, "no_speech_prob": 0.01 | null,
          "compression_ratio": 1.3 | null,
          "flags": ["low_confidence"],      # sorted
          "words": [[0, 400, " Hello", 0.98], ...]   # [start_ms, end_ms, text, probability]
        }
      ]
    }

Floats are written with Python's shortest round-trip repr, so they read back bit-identical.
``from_dict`` checks types and names the first bad field; it never trusts its input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stenogram.core.transcript import Segment, Transcript, Word

FORMAT_NAME = "stenogram-transcript"
SCHEMA_VERSION = 1


class SchemaError(ValueError):
    """The JSON does not follow the schema; the message names the field."""


def word_to_list(w: Word) -> list[Any]:
    return [w.start_ms, w.end_ms, w.text, w.probability]


def segment_to_dict(seg: Segment) -> dict[str, Any]:
    return {
        "start_ms": seg.start_ms,
        "end_ms": seg.end_ms,
        "text": seg.text,
        "speaker": seg.speaker,
        "avg_logprob": seg.avg_logprob,
        "no_speech_prob": seg.no_speech_prob,
        "compression_ratio": seg.compression_ratio,
        "flags": sorted(seg.flags),
        "words": [word_to_list(w) for w in seg.words],
    }


def to_dict(t: Transcript) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": SCHEMA_VERSION,
        "language": t.language,
        "media_path": t.media_path,
        "model": t.model,
        "options": t.options,
        "duration_ms": t.duration_ms,
        "created": t.created.isoformat(),
        "modified": t.modified.isoformat(),
        "segments": [segment_to_dict(s) for s in t.segments],
    }


# --- reading, with a named field for every mistake -----------------------------------------


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{where}: expected a whole number of milliseconds, found {value!r}")
    return value


def _opt_int(value: Any, where: str) -> int | None:
    return None if value is None else _int(value, where)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"{where}: expected text, found {value!r}")
    return value


def _opt_str(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _opt_float(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{where}: expected a number, found {value!r}")
    return float(value)


def _time(value: Any, where: str) -> datetime:
    try:
        return datetime.fromisoformat(_str(value, where))
    except ValueError as exc:
        raise SchemaError(f"{where}: expected an ISO 8601 date and time, found {value!r}") from exc


def word_from_list(raw: Any, where: str) -> Word:
    if not isinstance(raw, list) or len(raw) != 4:
        raise SchemaError(f"{where}: expected [start_ms, end_ms, text, probability]")
    prob = _opt_float(raw[3], f"{where}[3]")
    return Word(_int(raw[0], f"{where}[0]"), _int(raw[1], f"{where}[1]"),
                _str(raw[2], f"{where}[2]"), 1.0 if prob is None else prob)


def segment_from_dict(raw: Any, where: str) -> Segment:
    if not isinstance(raw, dict):
        raise SchemaError(f"{where}: expected an object")
    words_raw = raw.get("words", [])
    flags_raw = raw.get("flags", [])
    if not isinstance(words_raw, list):
        raise SchemaError(f"{where}.words: expected a list")
    if not isinstance(flags_raw, list):
        raise SchemaError(f"{where}.flags: expected a list")
    return Segment(
        start_ms=_int(raw.get("start_ms"), f"{where}.start_ms"),
        end_ms=_int(raw.get("end_ms"), f"{where}.end_ms"),
        text=_str(raw.get("text", ""), f"{where}.text"),
        words=tuple(word_from_list(w, f"{where}.words[{k}]") for k, w in enumerate(words_raw)),
        speaker=_opt_str(raw.get("speaker"), f"{where}.speaker"),
        avg_logprob=_opt_float(raw.get("avg_logprob"), f"{where}.avg_logprob"),
        no_speech_prob=_opt_float(raw.get("no_speech_prob"), f"{where}.no_speech_prob"),
        compression_ratio=_opt_float(raw.get("compression_ratio"), f"{where}.compression_ratio"),
        flags=frozenset(_str(f, f"{where}.flags[{k}]") for k, f in enumerate(flags_raw)),
    )


def from_dict(raw: Any) -> Transcript:
    if not isinstance(raw, dict):
        raise SchemaError("the file does not hold a JSON object")
    if raw.get("format") != FORMAT_NAME:
        raise SchemaError(f"'format' is not {FORMAT_NAME!r}: this is not a Stenogram transcript")
    version = raw.get("version")
    if version != SCHEMA_VERSION:
        raise SchemaError(f"schema version {version!r} is not supported (this Stenogram reads "
                          f"version {SCHEMA_VERSION})")
    segments_raw = raw.get("segments", [])
    options = raw.get("options", {})
    if not isinstance(segments_raw, list):
        raise SchemaError("segments: expected a list")
    if not isinstance(options, dict):
        raise SchemaError("options: expected an object")
    t = Transcript(
        segments=[segment_from_dict(s, f"segments[{i}]") for i, s in enumerate(segments_raw)],
        language=_opt_str(raw.get("language"), "language"),
        media_path=_opt_str(raw.get("media_path"), "media_path"),
        model=_opt_str(raw.get("model"), "model"),
        options=options,
        duration_ms=_opt_int(raw.get("duration_ms"), "duration_ms"),
    )
    if "created" in raw:
        t.created = _time(raw["created"], "created")
    if "modified" in raw:
        t.modified = _time(raw["modified"], "modified")
    problems = t.problems()
    if problems:
        raise SchemaError(problems[0])
    return t
