"""Word timing through text edits: words that stay keep their times, new words are interpolated.

When a segment's text is retyped, the old and new words are diffed (difflib on normalised
words: case and punctuation do not count as a change). Kept words keep their times and
probability; replaced words share the time of the words they replace; inserted words share
the gap between their neighbours, in proportion to their length.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from stenogram.core.transcript import Segment, Word, split_tokens

# A human typed these words, so their text is certain; their times are interpolated.
TYPED_WORD_PROBABILITY = 1.0


def _norm(token: str) -> str:
    stripped = token.strip().lower()
    letters = "".join(ch for ch in stripped if ch.isalnum())
    return letters or stripped


def spread_words(
    tokens: Sequence[str], start_ms: int, end_ms: int, probability: float
) -> list[Word]:
    """Words for tokens laid over [start_ms, end_ms] in proportion to their length."""
    weights = [len(t.strip()) + 1 for t in tokens]
    total = sum(weights) or 1
    span = max(0, end_ms - start_ms)
    out: list[Word] = []
    acc = 0
    for tok, wgt in zip(tokens, weights, strict=True):
        w_start = start_ms + span * acc // total
        acc += wgt
        out.append(Word(w_start, start_ms + span * acc // total, tok, probability))
    return out


def retime_words(seg: Segment, new_text: str) -> tuple[Word, ...]:
    """Words for ``new_text``: unchanged words keep their timing, the others are interpolated
    between their neighbours. A segment without word timings stays without."""
    if not seg.words:
        return ()
    tokens = split_tokens(new_text)
    old = seg.words
    matcher = SequenceMatcher(None, [_norm(w.text) for w in old], [_norm(t) for t in tokens],
                              autojunk=False)
    out: list[Word] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                w = old[i1 + k]
                out.append(Word(w.start_ms, w.end_ms, tokens[j1 + k], w.probability))
        elif tag in ("replace", "insert"):
            lo = out[-1].end_ms if out else seg.start_ms
            if tag == "replace":
                lo = max(lo, old[i1].start_ms)
                hi = old[i2 - 1].end_ms
            else:  # the gap up to the next kept word
                hi = old[i1].start_ms if i1 < len(old) else seg.end_ms
            out.extend(spread_words(tokens[j1:j2], lo, max(lo, hi), TYPED_WORD_PROBABILITY))
    return tuple(out)


def word_spans(seg: Segment) -> list[tuple[int, int]] | None:
    """(start, end) character offsets of each word's non-space text in seg.text, or None when
    the words cannot be found in the text in order."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for w in seg.words:
        core = w.text.strip()
        at = seg.text.find(core, pos) if core else pos
        if at < 0:
            return None
        spans.append((at, at + len(core)))
        pos = at + len(core)
    return spans
