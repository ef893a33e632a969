"""Subtitles shaped for reading: re-segment a transcript into cues from its word timings.

Defaults follow the common broadcast style guides (BBC, Netflix): 42 characters a line, two
lines, 17 characters a second, 0.833 s to 7 s on screen and a gap of two frames at 24 fps.

``shape`` chooses cue breaks with a small dynamic programme over the words: a cue must fit
the lines and the maximum duration; among the layouts that fit it prefers breaks at sentence
ends, then clause punctuation, then pauses and before conjunctions, and avoids breaking after
an article or preposition. Words are never split. Lines within a cue are balanced. Cues that
are short or read too fast are then stretched into the silence around them where there is
room. ``validate`` lists what still breaks a rule, per cue, so the editor can warn.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from stenogram.core.transcript import Segment, Transcript, Word, estimate_words

# Rule names, as Violation.rule reports them.
RULE_MAX_CHARS = "max_chars"
RULE_MAX_LINES = "max_lines"
RULE_MAX_CPS = "max_cps"
RULE_MIN_DURATION = "min_duration"
RULE_MAX_DURATION = "max_duration"
RULE_MIN_GAP = "min_gap"
RULE_OVERLAP = "overlap"
RULE_EMPTY = "empty"

# How much each kind of break costs a layout (lower is better).
_COST_SENTENCE = 0.0
_COST_CLAUSE = 2.0
_COST_PAUSE = 3.0
_COST_CONJUNCTION = 4.0
_COST_ANYWHERE = 8.0
_COST_AFTER_FUNCTION_WORD = 4.0  # extra: never leave "the" hanging at the end of a cue
_COST_PER_CUE = 1.5  # fewer, fuller cues are easier to read than many flashes
_COST_TINY_CUE = 3.0
_COST_CPS = 12.0  # per unit of reading-speed overshoot
_PAUSE_MS = 250  # a silence this long between words is a natural place to break
_TINY_CHARS = 12

_SENTENCE_END = re.compile(r"[.?!…]['\"”’)\]]*$")
_CLAUSE_END = re.compile(r"[,;:—–]['\"”’)\]]*$|\s-$")
_CONJUNCTIONS = frozenset(
    [
        "and", "but", "or", "nor", "so", "yet", "because", "which", "that", "who", "whom", "whose",
        "when", "while", "where", "if", "then", "although", "though", "unless", "until", "after",
        "before", "since", "as",
    ]
)
_FUNCTION_WORDS = frozenset(
    [
        "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "my", "your",
        "his", "her", "its", "our", "their", "this", "that",
    ]
)

# Words that belong with the next one: a line ending in an article reads worst of all.
_ARTICLES = frozenset(["a", "an", "the", "my", "your", "his", "her", "its", "our", "their"])


@dataclass(frozen=True, slots=True)
class SubtitleRules:
    # Layout
    max_chars_per_line: int = 42
    max_lines: int = 2
    # Reading speed: characters (spaces included, line breaks not) per second
    max_cps: float = 17.0
    # Timing, in milliseconds
    min_duration_ms: int = 833  # 20 frames at 24 fps
    max_duration_ms: int = 7000
    min_gap_ms: int = 84  # two frames at 24 fps (83.3 ms), rounded up
    # Shaping: a silence this long always ends a cue
    pause_break_ms: int = 1500

    def __post_init__(self) -> None:
        if self.max_chars_per_line < 1 or self.max_lines < 1:
            raise ValueError("A cue needs at least one line of at least one character.")
        if self.max_cps <= 0:
            raise ValueError("The reading speed must be above zero characters per second.")
        if not 0 <= self.min_duration_ms <= self.max_duration_ms or self.max_duration_ms <= 0:
            raise ValueError("The minimum duration must lie between zero and the maximum.")
        if self.min_gap_ms < 0 or self.pause_break_ms < 0:
            raise ValueError("Gaps and pauses cannot be negative.")


@dataclass(frozen=True, slots=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    speaker: str | None = None
    words: tuple[Word, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def chars(self) -> int:
        """Characters a viewer reads: the lines joined by a space."""
        return len(" ".join(self.lines))

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class Violation:
    cue_index: int
    rule: str
    message: str


# --- shaping ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str  # without surrounding whitespace
    word: Word
    speaker: str | None


def _tokens(transcript: Transcript) -> list[_Tok]:
    """Words to lay out. A Whisper word without a leading space continues the one before it
    ("Hester" + "-Prynne"), so the two stay one unbreakable token."""
    out: list[_Tok] = []
    for seg in transcript.segments:
        words = seg.words or estimate_words(seg.text, seg.start_ms, seg.end_ms)
        first = len(out)
        for w in words:
            text = " ".join(w.text.split())
            if not text:
                continue
            if len(out) > first and not w.text[:1].isspace():
                prev = out[-1]
                joined = Word(prev.word.start_ms, max(prev.word.end_ms, w.end_ms),
                              prev.word.text + w.text, min(prev.word.probability, w.probability))
                out[-1] = _Tok(prev.text + text, joined, seg.speaker)
            else:
                out.append(_Tok(text, w, seg.speaker))
    return out


def _blocks(toks: list[_Tok], rules: SubtitleRules) -> list[list[_Tok]]:
    """Runs of words that may share a cue: a new speaker or a long pause always breaks."""
    blocks: list[list[_Tok]] = []
    for tok in toks:
        if (blocks and tok.speaker == blocks[-1][-1].speaker
                and tok.word.start_ms - blocks[-1][-1].word.end_ms < rules.pause_break_ms):
            blocks[-1].append(tok)
        else:
            blocks.append([tok])
    return blocks


def _break_cost(prev: _Tok, nxt: _Tok | None) -> float:
    """Cost of ending a cue after ``prev`` when ``nxt`` follows."""
    if nxt is None or _SENTENCE_END.search(prev.text):
        return _COST_SENTENCE
    cost = _COST_ANYWHERE
    if _CLAUSE_END.search(prev.text):
        cost = _COST_CLAUSE
    elif nxt.word.start_ms - prev.word.end_ms >= _PAUSE_MS:
        cost = _COST_PAUSE
    elif nxt.text.lower().strip("\"'“‘(") in _CONJUNCTIONS:
        cost = _COST_CONJUNCTION
    if prev.text.lower() in _FUNCTION_WORDS:
        cost += _COST_AFTER_FUNCTION_WORD
    return cost


def _cue_breaks(block: list[_Tok], rules: SubtitleRules, room_end: int) -> list[int]:
    """End indices of the cues that lay out ``block`` at least cost (dynamic programme)."""
    n = len(block)
    breaks = [_break_cost(block[k], block[k + 1] if k + 1 < n else None) for k in range(n)]
    best = [math.inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] == math.inf:
            continue
        start = block[i].word.start_ms
        lines, line_len, chars = 1, -1, -1
        for j in range(i + 1, n + 1):
            w = len(block[j - 1].text)
            chars += w + 1
            if line_len + 1 + w <= rules.max_chars_per_line or line_len < 0:
                line_len += w + 1
            else:
                lines, line_len = lines + 1, w
            end = block[j - 1].word.end_ms
            if j - i > 1 and (lines > rules.max_lines
                              or end - start > rules.max_duration_ms):
                break
            # time this cue could stay on screen: up to the next word, less the gap
            room = (block[j].word.start_ms if j < n else room_end) - rules.min_gap_ms
            avail = max(1, min(room, start + rules.max_duration_ms) - start, end - start)
            cost = best[i] + breaks[j - 1] + _COST_PER_CUE
            cps = chars * 1000 / avail
            if cps > rules.max_cps:
                cost += _COST_CPS * (cps / rules.max_cps - 1)
            if chars < _TINY_CHARS and n > 1:
                cost += _COST_TINY_CUE
            if cost < best[j]:
                best[j], back[j] = cost, i
    ends: list[int] = []
    j = n
    while j > 0:
        ends.append(j)
        j = back[j]
    return ends[::-1]


def layout_lines(words: list[str], max_chars: int) -> tuple[str, ...]:
    """Break words into the fewest lines that fit, as balanced as possible, preferring to break
    after punctuation and never after an article. Never splits a word."""
    greedy = _greedy_lines(words, max_chars)
    m = len(greedy)
    if m <= 1:
        return greedy
    n = len(words)
    target = len(" ".join(words)) / m
    # cost[k][r]: the best way to lay words[k:] out in exactly r lines
    cost = [[math.inf] * (m + 1) for _ in range(n + 1)]
    cut = [[0] * (m + 1) for _ in range(n + 1)]
    cost[n][0] = 0.0
    for k in range(n - 1, -1, -1):
        for r in range(1, m + 1):
            length = -1
            for b in range(k + 1, n + 1):
                length += len(words[b - 1]) + 1
                if length > max_chars and b - k > 1:
                    break
                if cost[b][r - 1] == math.inf:
                    continue
                c = 2 * abs(length - target) + cost[b][r - 1]
                if b < n:
                    c += 15 * _line_break_cost(words[b - 1], words[b])
                if c < cost[k][r]:
                    cost[k][r], cut[k][r] = c, b
    if cost[0][m] == math.inf:
        return greedy
    lines: list[str] = []
    k, r = 0, m
    while r > 0:
        b = cut[k][r]
        lines.append(" ".join(words[k:b]))
        k, r = b, r - 1
    return tuple(lines)


def _line_break_cost(prev: str, nxt: str) -> float:
    if _SENTENCE_END.search(prev) or _CLAUSE_END.search(prev):
        return 0.0
    if nxt.lower() in _CONJUNCTIONS:
        return 0.5
    if prev.lower() in _ARTICLES:
        return 4.0
    return 2.0 if prev.lower() in _FUNCTION_WORDS else 1.0


def _greedy_lines(words: list[str], max_chars: int) -> tuple[str, ...]:
    lines: list[str] = []
    for w in words:
        if lines and len(lines[-1]) + 1 + len(w) <= max_chars:
            lines[-1] += " " + w
        else:
            lines.append(w)
    return tuple(lines)


def shape(transcript: Transcript, rules: SubtitleRules | None = None) -> list[Cue]:
    """Cues for reading, from word timings (or from text spread over each segment's time)."""
    rules = rules or SubtitleRules()
    toks = _tokens(transcript)
    blocks = _blocks(toks, rules)
    cues: list[Cue] = []
    end_of_media = transcript.duration_ms
    for b, block in enumerate(blocks):
        room_end = blocks[b + 1][0].word.start_ms if b + 1 < len(blocks) else (
            end_of_media if end_of_media is not None else block[-1].word.end_ms + 10_000)
        start = 0
        for end in _cue_breaks(block, rules, room_end):
            part = block[start:end]
            lines = layout_lines([t.text for t in part], rules.max_chars_per_line)
            cues.append(Cue(part[0].word.start_ms, part[-1].word.end_ms, lines,
                            part[0].speaker, tuple(t.word for t in part)))
            start = end
    return _retime(cues, rules, end_of_media)


def _retime(cues: list[Cue], rules: SubtitleRules, end_of_media: int | None) -> list[Cue]:
    """Keep the minimum gap, then stretch short or fast cues into the silence around them."""
    out: list[Cue] = []
    for i, cue in enumerate(cues):
        prev_end = out[-1].end_ms + rules.min_gap_ms if out else 0
        if i + 1 < len(cues):
            limit = cues[i + 1].start_ms - rules.min_gap_ms
        else:
            limit = end_of_media if end_of_media is not None else cue.end_ms + rules.max_duration_ms
        start = cue.start_ms  # the previous cue already left the gap before this one
        end = min(cue.end_ms, max(limit, start))
        need = max(rules.min_duration_ms, math.ceil(cue.chars * 1000 / rules.max_cps))
        need = min(need, rules.max_duration_ms)
        if end - start < need:
            end = max(end, min(start + need, limit))
        if end - start < need:  # still short: start earlier, into the silence before
            start = min(start, max(prev_end, end - need))
        words = tuple(replace(w, start_ms=min(max(w.start_ms, start), end),
                              end_ms=min(max(w.end_ms, start), end)) for w in cue.words)
        out.append(replace(cue, start_ms=start, end_ms=end, words=words))
    return out


def cues_to_transcript(cues: list[Cue], like: Transcript | None = None) -> Transcript:
    """A transcript whose segments are the cues (lines joined by newlines), to export."""
    segments = [Segment(c.start_ms, c.end_ms, c.text, c.words, c.speaker) for c in cues]
    if like is None:
        return Transcript(segments=segments)
    return Transcript(segments=segments, language=like.language, media_path=like.media_path,
                      model=like.model, options=dict(like.options),
                      duration_ms=like.duration_ms, created=like.created,
                      modified=like.modified)


# --- validation ---------------------------------------------------------------------------


def validate(cues: list[Cue], rules: SubtitleRules | None = None) -> list[Violation]:
    """Every rule each cue breaks, in cue order."""
    rules = rules or SubtitleRules()
    out: list[Violation] = []
    for i, cue in enumerate(cues):
        def add(rule: str, message: str, i: int = i) -> None:
            out.append(Violation(i, rule, message))

        if not cue.text.strip():
            add(RULE_EMPTY, "The cue has no text.")
        if len(cue.lines) > rules.max_lines:
            add(RULE_MAX_LINES, f"{len(cue.lines)} lines; at most {rules.max_lines}.")
        for k, line in enumerate(cue.lines, 1):
            if len(line) > rules.max_chars_per_line:
                add(RULE_MAX_CHARS, f"Line {k} has {len(line)} characters; at most "
                                    f"{rules.max_chars_per_line}.")
        dur = cue.duration_ms
        if dur < rules.min_duration_ms:
            add(RULE_MIN_DURATION, f"On screen {dur / 1000:.3f} s; at least "
                                   f"{rules.min_duration_ms / 1000:.3f} s.")
        if dur > rules.max_duration_ms:
            add(RULE_MAX_DURATION, f"On screen {dur / 1000:.3f} s; at most "
                                   f"{rules.max_duration_ms / 1000:.3f} s.")
        cps = cue.chars * 1000 / dur if dur > 0 else math.inf
        if cps > rules.max_cps + 1e-9:
            add(RULE_MAX_CPS, f"{cps:.1f} characters per second; at most {rules.max_cps:g}.")
        if i + 1 < len(cues):
            gap = cues[i + 1].start_ms - cue.end_ms
            if gap < 0:
                add(RULE_OVERLAP, f"Overlaps the next cue by {-gap} ms.")
            elif gap < rules.min_gap_ms:
                add(RULE_MIN_GAP, f"{gap} ms before the next cue; at least {rules.min_gap_ms} ms.")
    return out


def cues_from_transcript(transcript: Transcript) -> list[Cue]:
    """Existing segments as cues (lines as they are), to validate without re-shaping."""
    return [Cue(s.start_ms, s.end_ms, tuple(s.text.strip().split("\n")) if s.text.strip()
                else (), s.speaker, s.words) for s in transcript.segments]
