"""mlx-whisper's decoding task, given audio features of any length instead of a Mel window.

mlx-whisper tells features from a Mel window by their shape: (1500, n_state) are features,
anything else is encoded again. We always encode first (once per window, see
``whisper_runtime``), and a short input (``encoder_input``) has fewer than 1500 positions,
so every task of ours takes what it is given as the features.
"""

from __future__ import annotations

from stenogram.core.mlx_runtime import ensure_mlx

ensure_mlx()

import mlx.core as mx  # noqa: E402  (after the OpenBLAS preload)
from mlx_whisper.decoding import DecodingTask  # noqa: E402


class FeaturesTask(DecodingTask):
    """A decoding task whose input is the encoder's output, (batch, positions, n_state).

    ``session`` is the decoder session of its last run (its audios' cross-attention keys and
    values are read again to align words).
    """

    session = None

    def audio_keys_values(self, audio: int):
        """Audio ``audio``'s cross-attention keys and values from the last run, where its
        session can give them (the numpy decoder with the vector kernels), else None."""
        give = getattr(self.session, "audio_keys_values", None)
        return give(audio) if give is not None else None

    def _get_audio_features(self, features: mx.array) -> mx.array:
        if features.ndim != 3 or features.shape[-1] != self.model.dims.n_audio_state:
            raise ValueError(f"expected audio features, got an array of shape {features.shape}")
        wanted = mx.float16 if self.options.fp16 else mx.float32
        return features if features.dtype == wanted else features.astype(wanted)

    def _detect_language(self, audio_features: mx.array, tokens):
        """As mlx_whisper's, but through a decoder session: on a CPU the runtime decodes with
        numpy's decoder only (MLX's block weights are freed there)."""
        if self.options.language is not None and self.options.task != "lang_id":
            return [self.options.language] * audio_features.shape[0], None
        if not self.model.is_multilingual:  # an English-only model has no language tokens
            return ["en"] * audio_features.shape[0], None
        from stenogram.core.decoder_session import language_probabilities

        probs = language_probabilities(self.model, self.tokenizer, audio_features)
        languages = [max(p, key=p.get) for p in probs]
        if self.options.language is None:  # the prompt's language token, as mlx_whisper writes it
            tokens[:, self.sot_index + 1] = [self.tokenizer.to_language_token(code) for code in languages]
        return languages, probs
