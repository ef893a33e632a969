"""mlx-whisper's logit filters on numpy logits: the decoding loops choose tokens in numpy.

The filters are mlx-whisper's (their masks and rules), applied to a numpy (rows, vocab) array
in place; a filter of our own that takes and returns any array (the cancel check) is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

from mlx_whisper.decoding import ApplyTimestampRules, SuppressBlank, SuppressTokens  # noqa: E402

from stenogram.core.timestamp_rules import NumpyTimestampRules  # noqa: E402


class NumpySuppression:
    """Tokens that may not come next: always (SuppressTokens), or only as the first sampled
    token (SuppressBlank: a space or end of text, ``at_length`` tokens into the row)."""

    def __init__(self, suppressed: np.ndarray, at_length: int | None = None) -> None:
        self.suppressed = suppressed
        self.at_length = at_length

    def apply(self, logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        if self.at_length is None or tokens.shape[1] == self.at_length:
            logits[:, self.suppressed] = -np.inf
        return logits


def numpy_logit_filters(filters: list[Any]) -> list[Any]:
    """The same filters, each working on numpy logits."""
    return [_numpy_filter(f) for f in filters]


def _numpy_filter(f: Any) -> Any:
    if type(f) is ApplyTimestampRules:
        return NumpyTimestampRules.like(f)
    if isinstance(f, SuppressBlank):
        return NumpySuppression(_masked(f.mask), at_length=f.sample_begin)
    if isinstance(f, SuppressTokens):
        return NumpySuppression(_masked(f.mask))
    return f


def _masked(mask: Any) -> np.ndarray:
    return np.flatnonzero(np.isneginf(np.asarray(mask)))
