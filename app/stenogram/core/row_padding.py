"""Rows of one decoding batch whose prompts differ in length, padded on the left.

Both decoder sessions (numpy's on a CPU, MLX's on a Mac's GPU) take such rows: a row's tokens
keep the positions they would have alone, and no token reads the row's padding. These are the
two arrays that says, in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def row_pads(pads: Sequence[int] | None) -> np.ndarray | None:
    """Each row's padding as an array, or None where no row is padded."""
    return None if pads is None or not any(pads) else np.asarray(pads, dtype=np.int64)


def unpadded_positions(pads: np.ndarray, start: int, n: int) -> np.ndarray:
    """(rows, n): the positions cache positions [start, start + n) have in each row without its
    padding (0 within the padding)."""
    return np.maximum(np.arange(start, start + n)[None, :] - pads[:, None], 0)


def padding_mask(pads: np.ndarray, start: int, n: int) -> np.ndarray:
    """(rows, 1, n, start + n), float32: -inf where the tokens at [start, start + n) would read
    their row's padding, else 0. A padding position reads itself (its output is never read,
    but must stay finite)."""
    keys = np.arange(start + n)
    queries = np.arange(start, start + n)
    hidden = (keys[None, None, :] < pads[:, None, None]) & (keys[None, None, :] != queries[None, :, None])
    return np.where(hidden, np.float32(-np.inf), np.float32(0))[:, None]
