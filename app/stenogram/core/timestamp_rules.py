"""mlx-whisper's timestamp rules, computed in numpy: same masks, without the full log-softmax.

mlx-whisper's ``ApplyTimestampRules`` takes a log-softmax over the whole vocabulary (51,864
values a row) at every decoder step, only to ask whether the timestamp tokens together are
likelier than the best text token. Both sides of that comparison lose the same normaliser,
so it is the same question on the raw logits: logsumexp over the 1,501 timestamps against
the largest text logit. MLX's CPU ``exp`` runs one element at a time; with the five rows of
every window in a beam search this filter cost about a third of a decoder step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
from mlx_whisper.decoding import ApplyTimestampRules  # noqa: E402


class NumpyTimestampRules(ApplyTimestampRules):
    """``ApplyTimestampRules`` with the same result, rows at once, in numpy.

    mlx-whisper's rule that timestamps must not decrease masks up to a token *position*
    (always below the first timestamp token), so it never masks anything; it is left out
    here, so that beam search sees exactly the rules greedy decoding sees.
    """

    @classmethod
    def like(cls, rules: ApplyTimestampRules) -> NumpyTimestampRules:
        return cls(rules.tokenizer, rules.sample_begin, rules.max_initial_timestamp_index)

    def apply(self, logits: Any, tokens: Any) -> Any:
        """Numpy logits are changed in place and returned; MLX logits give a new MLX array."""
        begin, eot = self.tokenizer.timestamp_begin, self.tokenizer.eot
        given_numpy = isinstance(logits, np.ndarray)
        out = logits if given_numpy else np.array(logits, dtype=np.float32)
        prefer_timestamp = _timestamps_outweigh_text(out, begin)  # on the logits as given
        if self.tokenizer.no_timestamps is not None:
            out[:, self.tokenizer.no_timestamps] = -np.inf
        sampled = np.array(tokens)[:, self.sample_begin :]
        if sampled.shape[1] >= 1:  # timestamps come in pairs, except just before end of text
            last = sampled[:, -1] >= begin
            penultimate = sampled[:, -2] >= begin if sampled.shape[1] >= 2 else np.ones_like(last)
            out[last & penultimate, begin:] = -np.inf  # a pair just closed: text next
            out[last & ~penultimate, :eot] = -np.inf  # an open pair: no text
        else:  # the first token is a timestamp, no later than the initial limit
            out[:, :begin] = -np.inf
            if self.max_initial_timestamp_index is not None:
                out[:, begin + self.max_initial_timestamp_index + 1 :] = -np.inf
        out[prefer_timestamp, :begin] = -np.inf
        return out if given_numpy else mx.array(out)


def _timestamps_outweigh_text(logits: np.ndarray, begin: int) -> np.ndarray:
    """Per row: is the timestamps' total probability above that of any single text token?"""
    stamps = logits[:, begin:]
    peak = stamps.max(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # rows with every timestamp at -inf
        total = peak[:, 0] + np.log(np.exp(stamps - peak).sum(axis=-1))
    return np.nan_to_num(total, nan=-np.inf) > logits[:, :begin].max(axis=-1)


def use_numpy_timestamp_rules(filters: list[Any]) -> list[Any]:
    """The same filters, mlx-whisper's timestamp rules swapped for ``NumpyTimestampRules``."""
    return [NumpyTimestampRules.like(f) if type(f) is ApplyTimestampRules else f for f in filters]
