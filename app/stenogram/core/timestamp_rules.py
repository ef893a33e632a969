"""mlx-whisper's timestamp rules, computed in numpy: same masks, without the full log-softmax.

mlx-whisper's ``ApplyTimestampRules`` takes a log-softmax over the whole vocabulary (51,864
values a row) at every decoder step, only to ask whether the timestamp tokens together are
likelier than the best text token. Both sides of that comparison lose the same normaliser,
so it is the same question on the raw logits: logsumexp over the 1,501 timestamps against
the largest text logit. MLX's CPU ``exp`` runs one element at a time; with the five rows of
every window in a beam search this filter cost about a third of a decoder step.
"""

from __future__ import annotations

import numpy as np

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

from mlx_whisper.decoding import ApplyTimestampRules  # noqa: E402  (after the OpenBLAS preload)


class NumpyTimestampRules(ApplyTimestampRules):
    """``ApplyTimestampRules`` with the same result, rows at once, in numpy.

    mlx-whisper's rule that timestamps must not decrease masks up to a token *position*
    (always below the first timestamp token), so it never masks anything; it is left out
    here, so that beam search sees exactly the rules greedy decoding sees.
    """

    @classmethod
    def like(cls, rules: ApplyTimestampRules) -> NumpyTimestampRules:
        return cls(rules.tokenizer, rules.sample_begin, rules.max_initial_timestamp_index)

    def apply(self, logits: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The (rows, vocab) logits, changed in place and returned."""
        begin, eot = self.tokenizer.timestamp_begin, self.tokenizer.eot
        prefer_timestamp = _timestamps_outweigh_text(logits, begin)  # on the logits as given
        if self.tokenizer.no_timestamps is not None:
            logits[:, self.tokenizer.no_timestamps] = -np.inf
        sampled = tokens[:, self.sample_begin :]
        if sampled.shape[1] >= 1:  # timestamps come in pairs, except just before end of text
            last = sampled[:, -1] >= begin
            penultimate = sampled[:, -2] >= begin if sampled.shape[1] >= 2 else np.ones_like(last)
            logits[last & penultimate, begin:] = -np.inf  # a pair just closed: text next
            logits[last & ~penultimate, :eot] = -np.inf  # an open pair: no text
        else:  # the first token is a timestamp, no later than the initial limit
            logits[:, :begin] = -np.inf
            if self.max_initial_timestamp_index is not None:
                logits[:, begin + self.max_initial_timestamp_index + 1 :] = -np.inf
        logits[prefer_timestamp, :begin] = -np.inf
        return logits


def _timestamps_outweigh_text(logits: np.ndarray, begin: int) -> np.ndarray:
    """Per row: is the timestamps' total probability above that of any single text token?"""
    stamps = logits[:, begin:]
    peak = stamps.max(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # rows with every timestamp at -inf
        total = peak[:, 0] + np.log(np.exp(stamps - peak).sum(axis=-1))
    return np.nan_to_num(total, nan=-np.inf) > logits[:, :begin].max(axis=-1)
