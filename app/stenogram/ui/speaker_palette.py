"""A colour per speaker, from a fixed palette, that stays with the speaker through renames.

The hues are Okabe and Ito's palette: told apart with the common colour-vision deficiencies,
and mid-bright so they read on a light and on a dark background alike. Table cells mix the
hue with the view's own background (opaque, like the timeline blocks), so text stays legible
in both schemes.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QColor

PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#999999")
CELL_SHARE = 0.42  # of the hue in a table cell's background; the rest is the view's background


def mix(ink: QColor, paper: QColor, share: float) -> QColor:
    """An opaque blend: `share` of ink over paper."""
    return QColor(round(ink.red() * share + paper.red() * (1 - share)),
                  round(ink.green() * share + paper.green() * (1 - share)),
                  round(ink.blue() * share + paper.blue() * (1 - share)))


class SpeakerPalette:
    """Gives each speaker name a palette slot, in the order speakers are first seen."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._slots: dict[str, int] = {}
        self.sync(names)

    def sync(self, names: Iterable[str]) -> None:
        """Give names seen for the first time the next free slot."""
        for name in names:
            if name not in self._slots:
                self._slots[name] = self._free_slot()

    def carry(self, old: str, new: str) -> None:
        """A renamed speaker keeps its colour (unless the new name already has one)."""
        if old in self._slots and new not in self._slots:
            self._slots[new] = self._slots[old]

    def __len__(self) -> int:
        return len(self._slots)

    def _free_slot(self) -> int:
        used = set(self._slots.values())
        free = [i for i in range(len(PALETTE)) if i not in used]
        return free[0] if free else len(self._slots) % len(PALETTE)

    def slot(self, name: str | None) -> int | None:
        return self._slots.get(name) if name else None

    def color(self, name: str | None) -> QColor | None:
        slot = self.slot(name)
        return QColor(PALETTE[slot]) if slot is not None else None

    def cell_color(self, name: str | None, background: QColor) -> QColor | None:
        hue = self.color(name)
        return mix(hue, background, CELL_SHARE) if hue is not None else None
