"""Finding text in a transcript: plain or regular-expression patterns, case and whole-word
options. ``edits.ReplaceAll`` replaces with the same patterns."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from stenogram.core.transcript import Transcript


class SearchError(ValueError):
    """The search pattern cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class SearchOptions:
    regex: bool = False
    case_sensitive: bool = False
    whole_words: bool = False


@dataclass(frozen=True, slots=True)
class Match:
    segment_index: int
    start: int  # character offsets in the segment's text
    end: int


def compile_pattern(find: str, options: SearchOptions = SearchOptions()) -> re.Pattern[str]:
    if not find:
        raise SearchError("Type something to find.")
    body = find if options.regex else re.escape(find)
    if options.whole_words:  # lookarounds, because \b fails next to punctuation
        body = rf"(?<!\w)(?:{body})(?!\w)"
    try:
        return re.compile(body, 0 if options.case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise SearchError(f"The search pattern is not a valid regular expression: {exc}.") from exc


def find_matches(transcript: Transcript, find: str,
                 options: SearchOptions = SearchOptions()) -> Iterator[Match]:
    pattern = compile_pattern(find, options)
    for i, seg in enumerate(transcript.segments):
        for m in pattern.finditer(seg.text):
            yield Match(i, m.start(), m.end())
