"""Skip silence: lay the speech regions end to end, and map times back to the original.

Whisper then never sees long silences (where it invents text) and spends no time on them.
A short pause is kept between regions so that the model still hears a boundary there.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
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


def plan_pieces(regions: Sequence[tuple[int, int]], length: int, pause_samples: int = JOIN_PAUSE_SAMPLES) -> SpeechMap:
    """Where each region of a ``length``-sample recording goes when laid end to end."""
    pieces: list[Piece] = []
    cursor = 0
    for start, end in regions:
        start, end = max(0, start), min(length, end)
        if end > start:
            pieces.append(Piece(cursor, start, end - start))
            cursor += end - start + pause_samples
    return SpeechMap(tuple(pieces))


def pack_speech(
    audio: np.ndarray,
    regions: Sequence[tuple[int, int]],
    pause_samples: int = JOIN_PAUSE_SAMPLES,
) -> tuple[np.ndarray, SpeechMap]:
    """Concatenate ``audio[start:end]`` for each region with short pauses between them."""
    speech_map = plan_pieces(regions, len(audio), pause_samples)
    packed = np.zeros(speech_map.packed_length, dtype=np.float32)
    for p in speech_map.pieces:
        packed[p.packed_start : p.packed_end] = audio[p.original_start : p.original_end]
    return packed, speech_map


def pack_speech_streamed(
    chunks: Iterable[np.ndarray], speech_map: SpeechMap, dtype: type = np.float32
) -> np.ndarray:
    """``pack_speech`` of audio arriving in chunks: only the speech is ever held in memory.

    The result has ``dtype``; the chunks must already have it (int16 chunks for int16 PCM).
    """
    packed = np.zeros(speech_map.packed_length, dtype=dtype)
    offset = 0
    for chunk in chunks:
        end = offset + len(chunk)
        for p in speech_map.pieces:
            lo, hi = max(p.original_start, offset), min(p.original_end, end)
            if hi > lo:
                at = p.packed_start + lo - p.original_start
                packed[at : at + hi - lo] = chunk[lo - offset : hi - offset]
        offset = end
    return packed
