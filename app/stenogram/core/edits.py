"""Edits of a transcript as command objects with an exact inverse, and the undo history.

Every edit turns into *splices*: "at index i, these old segments become these new ones".
Segments are immutable, so undo puts the very same objects back and is exact by construction.
An edit computes its splices the first time it is applied (clamping times to its neighbours);
redo replays them. ``EditHistory`` keeps unlimited undo/redo and emits ``changed`` (psygnal),
so the library's autosave and the UI can follow without the core importing Qt.

Text edits keep word timing: the old and new words are diffed (difflib on normalised words);
words that stay keep their times and new or changed words get times interpolated from their
neighbours, so word-level export stays valid after any edit.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from psygnal import Signal

# The search helpers live in text_search; edits re-exports them for the app's find bar.
from stenogram.core.text_search import (  # noqa: F401
    Match,
    SearchError,
    SearchOptions,
    compile_pattern,
    find_matches,
)
from stenogram.core.transcript import Segment, Transcript, Word, check_segments, utc_now
from stenogram.core.word_timing import retime_words, word_spans


class EditError(ValueError):
    """An edit that cannot be applied; the message says why in words a user understands."""


@dataclass(frozen=True, slots=True)
class Splice:
    """segments[index : index + len(old)] == old becomes new."""

    index: int
    old: tuple[Segment, ...]
    new: tuple[Segment, ...]


def _put(segments: list[Segment], index: int, remove: int, insert: Sequence[Segment]) -> None:
    segments[index : index + remove] = insert


class Edit:
    """Base of all edits. Subclasses implement ``_compute`` (the splices, from the current
    transcript); ``apply``/``undo`` are exact inverses of each other."""

    label = "Edit"

    def __init__(self) -> None:
        self._splices: tuple[Splice, ...] | None = None

    # -- what subclasses provide --------------------------------------------------------
    def _compute(self, segments: list[Segment]) -> list[Splice]:
        raise NotImplementedError

    @property
    def merge_key(self) -> Hashable | None:
        """Consecutive edits with the same non-None key merge into one undo entry."""
        return None

    # -- applying --------------------------------------------------------------------
    @property
    def splices(self) -> tuple[Splice, ...]:
        if self._splices is None:
            raise EditError("This edit has not been applied yet.")
        return self._splices

    @property
    def is_noop(self) -> bool:
        return all(s.old == s.new for s in self.splices)

    def apply(self, transcript: Transcript) -> None:
        segments = transcript.segments
        if self._splices is None:
            self._splices = tuple(self._compute(segments))
        done: list[Splice] = []
        for sp in self._splices:
            if tuple(segments[sp.index : sp.index + len(sp.old)]) != sp.old:
                self._revert(segments, done)
                raise EditError("The transcript changed since this edit was made.")
            _put(segments, sp.index, len(sp.old), sp.new)
            done.append(sp)
            problems = check_segments(segments, sp.index, sp.index + len(sp.new))
            if problems:
                self._revert(segments, done)
                raise EditError(f"This edit would leave the transcript inconsistent: {problems[0]}.")

    def undo(self, transcript: Transcript) -> None:
        self._revert(transcript.segments, list(self.splices))

    @staticmethod
    def _revert(segments: list[Segment], done: list[Splice]) -> None:
        for sp in reversed(done):
            _put(segments, sp.index, len(sp.new), sp.old)

    def changed_range(self) -> tuple[int, int]:
        """Indices [first, last) of segments this edit touched, after applying it."""
        first = min(s.index for s in self.splices) if self.splices else 0
        last = max(s.index + len(s.new) for s in self.splices) if self.splices else 0
        return first, last

    # -- merging (one drag = one undo entry) ------------------------------------------
    def mergeable_with(self, other: Edit) -> bool:
        """True when ``other`` (applied right after self) continues the same gesture."""
        if self.merge_key is None or self.merge_key != other.merge_key:
            return False
        if self._splices is None or other._splices is None:
            return False
        if len(self._splices) != 1 or len(other._splices) != 1:
            return False
        mine, theirs = self._splices[0], other._splices[0]
        return mine.index == theirs.index and mine.new == theirs.old

    def merge(self, other: Edit) -> None:
        """Fold ``other`` into self: undoing self then undoes both."""
        if not self.mergeable_with(other):
            raise EditError("These edits cannot be merged.")
        mine, theirs = self.splices[0], other.splices[0]
        self._splices = (Splice(mine.index, mine.old, theirs.new),)

    def __repr__(self) -> str:
        fields = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"{type(self).__name__}({fields})"


def _segment_at(segments: list[Segment], index: int) -> Segment:
    if not 0 <= index < len(segments):
        raise EditError(f"There is no segment {index + 1}; the transcript has {len(segments)}.")
    return segments[index]


# --- the edits ----------------------------------------------------------------------------


class ChangeText(Edit):
    label = "Change text"

    def __init__(self, index: int, text: str) -> None:
        super().__init__()
        self.index, self.text = index, text

    @property
    def merge_key(self) -> Hashable:
        return ("text", self.index)

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        seg = _segment_at(segments, self.index)
        new = replace(seg, text=self.text, words=retime_words(seg, self.text))
        return [Splice(self.index, (seg,), (new,))]


class SetTimes(Edit):
    """Move a segment's start and/or end, clamped to its neighbours; words stay inside."""

    label = "Move segment"

    def __init__(self, index: int, start_ms: int | None = None, end_ms: int | None = None) -> None:
        super().__init__()
        self.index, self.start_ms, self.end_ms = index, start_ms, end_ms

    @property
    def merge_key(self) -> Hashable:
        return ("times", self.index)

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        seg = _segment_at(segments, self.index)
        lo = segments[self.index - 1].end_ms if self.index > 0 else 0
        hi = segments[self.index + 1].start_ms if self.index + 1 < len(segments) else None
        start = seg.start_ms if self.start_ms is None else int(self.start_ms)
        end = seg.end_ms if self.end_ms is None else int(self.end_ms)
        start = max(lo, start)
        end = max(lo, end)
        if hi is not None:
            start, end = min(start, hi), min(end, hi)
        if start > end:  # the moved edge stops at the other one
            if self.start_ms is not None and self.end_ms is None:
                start = end
            else:
                end = start
        words = tuple(
            replace(w, start_ms=min(max(w.start_ms, start), end),
                    end_ms=min(max(w.end_ms, start), end))
            for w in seg.words
        )
        new = replace(seg, start_ms=start, end_ms=end, words=words)
        return [Splice(self.index, (seg,), (new,))]


class SplitSegment(Edit):
    """Split a segment before word ``word_index`` or at character ``char_pos`` of its text."""

    label = "Split segment"

    def __init__(self, index: int, *, word_index: int | None = None,
                 char_pos: int | None = None) -> None:
        super().__init__()
        if (word_index is None) == (char_pos is None):
            raise EditError("Split at a word or at a character position, not both or neither.")
        self.index, self.word_index, self.char_pos = index, word_index, char_pos

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        seg = _segment_at(segments, self.index)
        if self.word_index is not None:
            first, second = self._at_word(seg, self.word_index)
        else:
            first, second = self._at_char(seg, int(self.char_pos or 0))
        return [Splice(self.index, (seg,), (first, second))]

    @staticmethod
    def _at_word(seg: Segment, k: int) -> tuple[Segment, Segment]:
        if not 0 < k < len(seg.words):
            raise EditError("Choose a word inside the segment to split before.")
        spans = word_spans(seg)
        cut = spans[k - 1][1] if spans else len("".join(w.text for w in seg.words[:k]))
        words_a, words_b = seg.words[:k], seg.words[k:]
        a = replace(seg, end_ms=words_a[-1].end_ms, text=seg.text[:cut], words=words_a)
        b = replace(seg, start_ms=words_b[0].start_ms, text=seg.text[cut:], words=words_b)
        return a, b

    @staticmethod
    def _at_char(seg: Segment, pos: int) -> tuple[Segment, Segment]:
        if not 0 < pos < len(seg.text):
            raise EditError("Place the cursor inside the segment's text to split it.")
        text_a, text_b = seg.text[:pos], seg.text[pos:]
        spans = word_spans(seg) if seg.words else None
        if spans is None:  # no usable word timings: time in proportion to the characters
            t = seg.start_ms + (seg.end_ms - seg.start_ms) * pos // len(seg.text)
            return (replace(seg, end_ms=t, text=text_a, words=()),
                    replace(seg, start_ms=t, text=text_b, words=()))
        words_a: list[Word] = []
        words_b: list[Word] = []
        for w, (s, e) in zip(seg.words, spans, strict=True):
            if e <= pos:
                words_a.append(w)
            elif s >= pos:
                words_b.append(w)
            else:  # the cursor is inside this word: cut it, time in proportion
                lead = len(w.text) - len(w.text.lstrip())
                cut = lead + (pos - s)
                t = w.start_ms + (w.end_ms - w.start_ms) * (pos - s) // (e - s)
                words_a.append(Word(w.start_ms, t, w.text[:cut], w.probability))
                words_b.append(Word(t, w.end_ms, w.text[cut:], w.probability))
        if words_a and words_b:
            t_a, t_b = words_a[-1].end_ms, words_b[0].start_ms
        elif words_a:
            t_a = t_b = words_a[-1].end_ms
        else:
            t_a = t_b = words_b[0].start_ms
        return (replace(seg, end_ms=t_a, text=text_a, words=tuple(words_a)),
                replace(seg, start_ms=t_b, text=text_b, words=tuple(words_b)))


def _weighted(a: float | None, b: float | None, wa: int, wb: int) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    total = wa + wb
    return (a * wa + b * wb) / total if total else (a + b) / 2


class MergeWithNext(Edit):
    label = "Merge segments"

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        a = _segment_at(segments, self.index)
        if self.index + 1 >= len(segments):
            raise EditError("The last segment has no next segment to merge with.")
        b = segments[self.index + 1]
        needs_space = a.text and b.text and not a.text[-1].isspace() and not b.text[0].isspace()
        sep = " " if needs_space else ""
        words_b = b.words
        if sep and words_b:
            words_b = (replace(words_b[0], text=sep + words_b[0].text), *words_b[1:])
        da, db = a.duration_ms, b.duration_ms
        merged = Segment(
            a.start_ms, b.end_ms, a.text + sep + b.text, a.words + words_b,
            speaker=a.speaker if a.speaker is not None else b.speaker,
            avg_logprob=_weighted(a.avg_logprob, b.avg_logprob, da, db),
            no_speech_prob=_weighted(a.no_speech_prob, b.no_speech_prob, da, db),
            compression_ratio=_weighted(a.compression_ratio, b.compression_ratio, da, db),
            flags=a.flags | b.flags,
        )
        return [Splice(self.index, (a, b), (merged,))]


class InsertSegment(Edit):
    label = "Insert segment"

    def __init__(self, index: int, segment: Segment) -> None:
        super().__init__()
        self.index, self.segment = index, segment

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        if not 0 <= self.index <= len(segments):
            raise EditError(f"Cannot insert at position {self.index + 1}.")
        seg = self.segment
        if self.index > 0 and seg.start_ms < segments[self.index - 1].end_ms:
            raise EditError("The new segment would start before the previous one ends.")
        if self.index < len(segments) and seg.end_ms > segments[self.index].start_ms:
            raise EditError("The new segment would end after the next one starts.")
        return [Splice(self.index, (), (seg,))]


class DeleteSegments(Edit):
    label = "Delete segment"

    def __init__(self, index: int, count: int = 1) -> None:
        super().__init__()
        self.index, self.count = index, count

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        _segment_at(segments, self.index)
        if self.count < 1:
            raise EditError("Choose at least one segment to delete.")
        old = tuple(segments[self.index : self.index + self.count])
        return [Splice(self.index, old, ())]


def _shift_segment(seg: Segment, offset: int) -> Segment:
    words = tuple(replace(w, start_ms=w.start_ms + offset, end_ms=w.end_ms + offset)
                  for w in seg.words)
    return replace(seg, start_ms=seg.start_ms + offset, end_ms=seg.end_ms + offset, words=words)


class ShiftTimes(Edit):
    """Shift segments [start, stop) (all by default) by offset_ms, clamped so nothing goes below
    zero or into a neighbour."""

    label = "Shift times"

    def __init__(self, offset_ms: int, start: int = 0, stop: int | None = None) -> None:
        super().__init__()
        self.offset_ms, self.start, self.stop = int(offset_ms), start, stop

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        stop = len(segments) if self.stop is None else min(self.stop, len(segments))
        if not segments or not 0 <= self.start < stop:
            return []
        first, last = segments[self.start], segments[stop - 1]
        floor = segments[self.start - 1].end_ms if self.start > 0 else 0
        offset = max(self.offset_ms, floor - first.start_ms)
        if stop < len(segments):
            offset = min(offset, segments[stop].start_ms - last.end_ms)
        if offset == 0:
            return []
        old = tuple(segments[self.start : stop])
        return [Splice(self.start, old, tuple(_shift_segment(s, offset) for s in old))]


class SetSpeaker(Edit):
    label = "Set speaker"

    def __init__(self, index: int, speaker: str | None) -> None:
        super().__init__()
        self.index, self.speaker = index, (speaker or None)

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        seg = _segment_at(segments, self.index)
        return [Splice(self.index, (seg,), (replace(seg, speaker=self.speaker),))]


class RenameSpeaker(Edit):
    """Rename a speaker in every segment (an empty new name removes the speaker)."""

    label = "Rename speaker"

    def __init__(self, old: str, new: str | None) -> None:
        super().__init__()
        self.old, self.new = old, (new.strip() if new else None) or None

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        return [Splice(i, (s,), (replace(s, speaker=self.new),))
                for i, s in enumerate(segments) if s.speaker == self.old]


# --- find and replace ---------------------------------------------------------------------


class ReplaceAll(Edit):
    """Replace every match in every segment: one undoable command."""

    label = "Replace all"

    def __init__(self, find: str, replacement: str,
                 options: SearchOptions | None = None) -> None:
        super().__init__()
        options = options or SearchOptions()
        self.find, self.replacement, self.options = find, replacement, options
        try:
            self._pattern = compile_pattern(find, options)
        except SearchError as exc:
            raise EditError(str(exc)) from exc

    def _substitute(self, text: str) -> str:
        if self.options.regex:
            try:
                return self._pattern.sub(self.replacement, text)
            except (re.error, IndexError) as exc:
                raise EditError(f"The replacement is not valid for this pattern: {exc}.") from exc
        return self._pattern.sub(lambda _m: self.replacement, text)

    def _compute(self, segments: list[Segment]) -> list[Splice]:
        out: list[Splice] = []
        for i, seg in enumerate(segments):
            text = self._substitute(seg.text)
            if text != seg.text:
                new = replace(seg, text=text, words=retime_words(seg, text))
                out.append(Splice(i, (seg,), (new,)))
        return out


# --- the history --------------------------------------------------------------------------

HistoryAction = Literal["push", "undo", "redo", "clear"]


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    action: HistoryAction
    edit: Edit | None


class EditHistory:
    """Unlimited undo/redo over one transcript. ``changed`` fires after every change."""

    changed = Signal(HistoryEvent)

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self._sealed = False
        self._clean_index: int | None = 0

    def push(self, edit: Edit, *, merge: bool = True) -> Edit:
        """Apply ``edit`` and record it; it merges into the previous entry when both continue
        the same gesture (see ``seal``). Raises EditError and changes nothing when it fails."""
        edit.apply(self.transcript)
        depth = len(self._undo)
        if self._clean_index is not None and self._clean_index > depth:
            self._clean_index = None  # the saved state lay in the redo branch, now discarded
        top = self._undo[-1] if self._undo else None
        if merge and not self._sealed and top is not None and top.mergeable_with(edit):
            top.merge(edit)
            if self._clean_index == depth:
                self._clean_index = None  # the saved state was folded into this entry
        else:
            self._undo.append(edit)
        self._sealed = False
        self._redo.clear()
        self._touch("push", edit)
        return edit

    def seal(self) -> None:
        """End the current gesture: the next push starts a new undo entry."""
        self._sealed = True

    def undo(self) -> Edit | None:
        if not self._undo:
            return None
        edit = self._undo.pop()
        edit.undo(self.transcript)
        self._redo.append(edit)
        self._sealed = True
        self._touch("undo", edit)
        return edit

    def redo(self) -> Edit | None:
        if not self._redo:
            return None
        edit = self._redo.pop()
        edit.apply(self.transcript)
        self._undo.append(edit)
        self._sealed = True
        self._touch("redo", edit)
        return edit

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._clean_index = 0
        self.changed.emit(HistoryEvent("clear", None))

    def mark_clean(self) -> None:
        """Remember this state as saved; ``is_clean`` is True while the document matches it."""
        self._clean_index = len(self._undo)

    @property
    def is_clean(self) -> bool:
        return self._clean_index == len(self._undo)

    def _touch(self, action: HistoryAction, edit: Edit) -> None:
        self.transcript.modified = utc_now()
        self.changed.emit(HistoryEvent(action, edit))
