"""Skip silence: lay the speech regions end to end, and map times back to the original.

Whisper then never sees long silences (where it invents text) and spends no time on them.
A short pause is kept between regions so that the model still hears a boundary there.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
JOIN_PAUSE_SAMPLES = SAMPLE_RATE // 5  # 200 ms of silence between two speech regions


@dataclass(frozen=True)
class Piece:
    packed_start: int  # sample in the packed audio
    original_start: int  # sample in the original audio
    length: int  # samples

    @property
    def packed_end(self) -> int:
        return self.packed_start + self.length

    @property
    def original_end(self) -> int:
        return self.original_start + self.length


@dataclass(frozen=True)
class SpeechMap:
    """Where each stretch of the packed audio came from in the original."""

    pieces: tuple[Piece, ...]

    @property
    def packed_length(self) -> int:
        return self.pieces[-1].packed_end if self.pieces else 0

    def piece_start_frames(self, hop: int = 160) -> tuple[int, ...]:
        """Where each piece begins in the packed audio, in 10 ms feature frames."""
        return tuple(p.packed_start // hop for p in self.pieces)

    def to_original_s(self, packed_s: float) -> float:
        """A packed time in seconds, as a time in the original recording.

        Inside a piece the offset is kept exactly; in a pause between pieces the time moves on
        from the earlier piece's end but never past the next piece's start.
        """
        if not self.pieces:
            return packed_s
        sample = packed_s * SAMPLE_RATE
        starts = [p.packed_start for p in self.pieces]
        i = max(0, bisect.bisect_right(starts, sample) - 1)
        piece = self.pieces[i]
        if sample <= piece.packed_end or i + 1 == len(self.pieces):
            return (piece.original_start + (sample - piece.packed_start)) / SAMPLE_RATE
        later = self.pieces[i + 1]
        into_pause = sample - piece.packed_end
        return min(piece.original_end + into_pause, later.original_start) / SAMPLE_RATE


def pack_speech(
    audio: np.ndarray,
    regions: Sequence[tuple[int, int]],
    pause_samples: int = JOIN_PAUSE_SAMPLES,
) -> tuple[np.ndarray, SpeechMap]:
    """Concatenate ``audio[start:end]`` for each region with short pauses between them."""
    regions = [(max(0, s), min(len(audio), e)) for s, e in regions if e > s]
    total = sum(e - s for s, e in regions) + pause_samples * max(0, len(regions) - 1)
    packed = np.zeros(total, dtype=np.float32)
    pieces: list[Piece] = []
    cursor = 0
    for start, end in regions:
        packed[cursor : cursor + end - start] = audio[start:end]
        pieces.append(Piece(cursor, start, end - start))
        cursor += end - start + pause_samples
    return packed, SpeechMap(tuple(pieces))
