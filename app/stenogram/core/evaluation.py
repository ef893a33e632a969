"""Word error rate against a human reference, after normalising both sides.

Used by the benchmarks and the tests to score real recordings: references follow their
corpus's conventions (LibriSpeech is upper-case, British spelling, no punctuation), so both
sides are lower-cased, stripped of punctuation and folded to one spelling before comparing.
"""

from __future__ import annotations

import re
import unicodedata

# Spellings that differ between the references and Whisper but mean the same word.
_FOLDS = {
    "dishonoured": "dishonored",
    "honour": "honor",
    "colour": "color",
    "st": "saint",
    "mr": "mister",
    "mrs": "missus",
    "ok": "okay",
}
_JOINS = {("for", "ever"): "forever"}


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation, in one spelling."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[-‐–—/]", " ", text)
    text = re.sub(r"[^\w\s']", " ", text)
    words = [w.strip("'") for w in text.split()]
    words = [_FOLDS.get(w, w) for w in words if w]
    joined: list[str] = []
    for word in words:
        if joined and (joined[-1], word) in _JOINS:
            joined[-1] = _JOINS[(joined[-1], word)]
        else:
            joined.append(word)
    return joined


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, number of reference words) after normalising."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    errors, words = word_errors(reference, hypothesis)
    return errors / max(1, words)
