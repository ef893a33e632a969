"""The one adapter over mlx-whisper: a loaded model and the operations the engine needs.

Only this module (and the model loader) imports MLX or mlx_whisper, always lazily, so the app
starts without paying for them. It encodes each 30 s window ONCE and reuses the audio features
for language detection, every temperature of the fallback, and word alignment (mlx_whisper
re-runs the encoder for each of those; on a CPU the encoder is most of the cost).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stenogram.core.log_mel import N_FRAMES, SAMPLE_RATE
from stenogram.core.mlx_runtime import ensure_mlx

if TYPE_CHECKING:
    from mlx_whisper.decoding import DecodingOptions, DecodingResult
    from mlx_whisper.tokenizer import Tokenizer


# MLX keeps freed buffers for reuse; on a CPU a batch's first step frees a few hundred MB of
# intermediates at once, which would stay in the process until it ends. None are kept: malloc
# reuses the memory anyway (en_long decoded no slower without the cache), and 64 MB kept was
# 64 MB more at a 1-hour file's peak.
CPU_BUFFER_CACHE_BYTES = 0
MLX_ENCODER_ENV = "STENOGRAM_MLX_ENCODER"  # "1" keeps MLX's encoder and projection on a CPU (to compare)


class DecodeCancelled(Exception):
    """Raised from inside the token loop when the caller's cancel event is set."""


@dataclass(frozen=True)
class WordTiming:
    text: str
    start_s: float
    end_s: float
    probability: float


def uses_gpu() -> bool:
    """True when MLX runs on a Metal GPU (Apple Silicon); False for the CPU backend."""
    ensure_mlx()
    import mlx.core as mx

    return bool(mx.metal.is_available())


class WhisperRuntime:
    """A Whisper model loaded on MLX: fp16 on a Metal GPU, fp32 on the CPU."""

    def __init__(self, model_dir: Path, dtype: str | None = None) -> None:
        ensure_mlx()
        from stenogram.core.model_loading import load_whisper

        self.model_dir = model_dir
        self.dtype = dtype or ("float16" if uses_gpu() else "float32")
        self.model = load_whisper(model_dir, self.dtype)
        if not uses_gpu():  # freed buffers go back to the system rather than to MLX's cache
            import mlx.core as mx

            mx.set_cache_limit(CPU_BUFFER_CACHE_BYTES)
        from stenogram.core.cross_attention import prepare_cross_attention

        prepare_cross_attention(self.model)
        self._tokenizers: dict[tuple[str, str], Tokenizer] = {}
        self._lock = threading.Lock()
        self._warm = False
        self._last_encoded: tuple[np.ndarray, Any] | None = None  # (input, features)
        # On a CPU, numpy's vectorised kernels and threaded BLAS run the encoder about twice
        # as fast as MLX's and a decoder step two to three times (with its fp16 kernel, more);
        # the token embedding is held once, in numpy. Every decode on a CPU (greedy, beams,
        # fallback samples, language detection, word alignment) then runs numpy's decoder.
        self._cpu_encoder = None
        if self.dtype == "float32" and not uses_gpu() and os.environ.get(MLX_ENCODER_ENV) != "1":
            from stenogram.core.cpu_decoder import NumpyDecoder
            from stenogram.core.cpu_encoder import NumpyEncoder
            from stenogram.core.decoder_session import NUMPY_DECODER_ATTRIBUTE
            from stenogram.core.vocab_projection import project_vocabulary_in_numpy

            self._cpu_encoder = NumpyEncoder(self.model.encoder)
            project_vocabulary_in_numpy(self.model)
            numpy_decoder = NumpyDecoder(self.model.decoder)
            setattr(self.model, NUMPY_DECODER_ATTRIBUTE, numpy_decoder)
            numpy_decoder.release_mlx_copies()  # its fp16 copies replace MLX's block weights

    @property
    def is_multilingual(self) -> bool:
        return bool(self.model.is_multilingual)

    @property
    def fp16(self) -> bool:
        return self.dtype == "float16"

    def tokenizer(self, language: str | None, task: str) -> Tokenizer:
        from mlx_whisper.tokenizer import get_tokenizer

        key = (language or "en", task)
        if key not in self._tokenizers:
            self._tokenizers[key] = get_tokenizer(
                self.model.is_multilingual,
                num_languages=self.model.num_languages,
                language=key[0],
                task=task,
            )
        return self._tokenizers[key]

    def encode(self, mel_window: np.ndarray) -> Any:
        """Audio features of one (n_frames, n_mels) window, evaluated now.

        A full window has 3000 frames; a shorter one is the start of a window (see
        ``encoder_input``) and gives n_frames / 2 feature positions. The last window encoded
        is remembered: language detection reads the first window, then its decode does.
        """
        last = self._last_encoded
        if last is not None and last[0].shape == mel_window.shape and np.array_equal(last[0], mel_window):
            return last[1]
        features = self._encode(mel_window)
        self._last_encoded = (np.array(mel_window, copy=True), features)
        return features

    def _encode(self, mel_window: np.ndarray) -> Any:
        import mlx.core as mx

        if self._cpu_encoder is not None:
            return mx.array(self._cpu_encoder(mel_window)[None])
        mel = mx.array(mel_window[None])
        if self.fp16:
            mel = mel.astype(mx.float16)
        features = _run_encoder(self.model.encoder, mel)
        mx.eval(features)
        return features

    def reset_sampling(self, seed: int = 0) -> None:
        """Restart the sampler used by fallback temperatures: the same job, the same text."""
        import mlx.core as mx

        mx.random.seed(seed)

    def warm_up(self, *, word_timestamps: bool = True) -> None:
        """Run the encoder and one decoder step once; compile the word aligner if asked."""
        from mlx_whisper.decoding import DecodingOptions

        if self._warm and not word_timestamps:
            return
        features = self.encode(np.zeros((N_FRAMES, self.model.dims.n_mels), dtype=np.float32))
        language = None if self.is_multilingual else "en"
        self.decode(features, DecodingOptions(language=language or "en", fp16=self.fp16, sample_len=1))
        if word_timestamps:  # the aligner's first call (numba compiles, where our C is not built)
            tokenizer = self.tokenizer(language, "transcribe")
            tokens = tokenizer.encode(" Warm up the word aligner.")
            segment = {"seek": 0, "start": 0.0, "end": 2.0, "tokens": tokens}
            self.align_words([segment], tokenizer, features, N_FRAMES, 0.0)
        from stenogram.core.vad import detect_speech

        detect_speech(np.zeros(SAMPLE_RATE, dtype=np.float32))  # creates the VAD's ONNX session
        self._warm = True

    def detect_language(self, features: Any) -> tuple[str, dict[str, float]]:
        """The likeliest language of one window's features (of any length), and each one's
        probability: Whisper's language tokens after start of transcript, as mlx_whisper's
        ``detect_language`` reads them, which would encode a short input again."""
        from stenogram.core.decoder_session import language_probabilities

        probs = language_probabilities(self.model, self.tokenizer(None, "transcribe"), features)[0]
        return max(probs, key=probs.get), probs

    def decode(
        self,
        features: Any,
        options: DecodingOptions,
        cancel: threading.Event | None = None,
    ) -> DecodingResult:
        """Decode one window from its audio features; raises DecodeCancelled on cancel."""
        from stenogram.core.features_task import FeaturesTask

        if options.beam_size and options.beam_size > 1 and options.temperature == 0:
            from stenogram.core.beam_search import BeamDecodingTask

            task: FeaturesTask = BeamDecodingTask(self.model, options)
        else:  # greedy, or sampled at a fallback temperature
            from stenogram.core.batch_decoding import BatchDecodingTask

            task = BatchDecodingTask(self.model, replace(options, beam_size=None, patience=None))
        if cancel is not None:
            task.logit_filters.append(_CancelCheck(cancel))
        return task.run(features)[0]

    def align_words(
        self,
        segments: list[dict],
        tokenizer: Tokenizer,
        features: Any,
        num_frames: int,
        last_speech_s: float,
        cross_kv: Any = None,
    ) -> None:
        """Adds "words" to each segment dict (mlx_whisper's format), from cross-attention
        (``cross_kv``: the window's keys and values as its decode computed them, if kept)."""
        from mlx_whisper import timing

        from stenogram.core import word_alignment

        word_alignment.use_in_mlx_whisper()  # our alignment and time warping, where they run
        timing.add_word_timestamps(
            segments=segments,
            model=_FeaturesAsAudio(self.model, features, cross_kv),
            tokenizer=tokenizer,
            mel=_NO_MEL,
            num_frames=num_frames,
            last_speech_timestamp=last_speech_s,
        )


def _run_encoder(encoder: Any, mel: Any) -> Any:
    """mlx_whisper's AudioEncoder, taking as many positions as the window has frames."""
    import mlx.nn as nn

    x = nn.gelu(encoder.conv1(mel))
    x = nn.gelu(encoder.conv2(x))
    x = x + encoder._positional_embedding[: x.shape[1]]
    for block in encoder.blocks:
        x, _, _ = block(x)
    return encoder.ln_post(x)


class _NoMel:
    """Stands in for the mel window, which the aligner only indexes and hands back to us."""

    def __getitem__(self, _index: Any) -> _NoMel:
        return self


_NO_MEL = _NoMel()


class _CancelCheck:
    """A logit filter that leaves the logits alone and stops the token loop on cancel."""

    def __init__(self, cancel: threading.Event) -> None:
        self._cancel = cancel

    def apply(self, logits: Any, tokens: Any) -> Any:
        if self._cancel.is_set():
            raise DecodeCancelled
        return logits


class _FeaturesAsAudio:
    """Presents a model whose encoder output is already known to mlx_whisper's aligner."""

    def __init__(self, model: Any, features: Any, cross_kv: Any = None) -> None:
        from stenogram.core.decoder_session import NUMPY_DECODER_ATTRIBUTE

        self._model = model
        self.alignment_heads = model.alignment_heads
        # also read by word_alignment.find_alignment (the numpy decoder: None on a GPU)
        self.numpy_decoder = getattr(model, NUMPY_DECODER_ATTRIBUTE, None)
        self.features = features
        self.cross_kv = cross_kv

    def forward_with_cross_qk(self, _mel: Any, tokens: Any) -> tuple[Any, Any]:
        """Logits at every token and each layer's cross-attention scores; on a CPU from the
        numpy decoder (one pass, about 3x faster than MLX's here), else from MLX's."""
        if self.numpy_decoder is None:
            logits, _, cross_qk = self._model.decoder(tokens, self.features)
            return logits, cross_qk
        import mlx.core as mx

        session = self.numpy_decoder.session()
        session.cross_scores = []
        token_rows = np.asarray(tokens, dtype=np.int32)
        logits = session.start(token_rows, self.features, range(token_rows.shape[1]), self.cross_kv)
        return mx.array(logits), [mx.array(scores) for scores in session.cross_scores]


ProgressCallback = Callable[[float], None]
