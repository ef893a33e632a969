"""Clock text for integer milliseconds, both ways: 75500 ⇄ "1:15.500"."""

from __future__ import annotations

import re

_CLOCK = re.compile(r"^\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:[.,]\d{1,3})?)\s*$")


def format_ms(ms: int, *, millis: bool = True) -> str:
    sign = "-" if ms < 0 else ""
    ms = abs(int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millisecond = divmod(rest, 1000)
    frac = f".{millisecond:03d}" if millis else ""
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}{frac}"
    return f"{sign}{minutes}:{seconds:02d}{frac}"


def parse_clock(text: str) -> int:
    """"1:02:03.5", "2:03,250" or "95.2" → milliseconds; ValueError with a sentence otherwise."""
    m = _CLOCK.match(text)
    if not m:
        raise ValueError(f"“{text}” is not a time; write it like 1:23.450.")
    a, b, sec = m.groups()
    hours, minutes = (int(a), int(b)) if b is not None else (0, int(a or 0))
    return round((hours * 3600 + minutes * 60 + float(sec.replace(",", "."))) * 1000)
