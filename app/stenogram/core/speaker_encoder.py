"""The GE2E voice encoder (Resemblyzer's pretrained weights) on MLX.

Three LSTM layers of 256 units read 40-band mel frames; the last layer's final hidden state
goes through a linear layer, a ReLU and L2 normalisation, giving a 256-value voice embedding
in which the same voice points the same way. Weights come from ``resemblyzer/pretrained.pt``
in the Resemblyzer wheel, installed without its dependencies (its own code needs torch; we
only read its file). The package is never imported: its ``__init__`` imports torch.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stenogram.core.speaker_errors import SpeakerModelError
from stenogram.core.speaker_features import (
    FRAMES_PER_SECOND,
    HOP_LENGTH,
    INT16_MAX,
    N_MELS,
    TARGET_DBFS,
    frame_count,
    mel_frames,
)
from stenogram.core.torch_legacy import TorchLegacyError, load_state_dict

if TYPE_CHECKING:
    import mlx.core as mx

RESEMBLYZER_DIST = "Resemblyzer"
WEIGHTS_FILE = "pretrained.pt"
HIDDEN_SIZE = 256
EMBEDDING_SIZE = 256
NUM_LAYERS = 3
PARTIAL_FRAMES = 160  # 1.6 s of frames in one partial utterance (Resemblyzer's partials_n_frames)
PARTIALS_PER_SECOND = 1.3  # Resemblyzer's default rate of partial utterances
MIN_COVERAGE = 0.75  # a last partial shorter than this share of PARTIAL_FRAMES is dropped
BATCH_WINDOWS = 128  # windows per LSTM pass: wide matrix products, yet progress every few seconds


def resemblyzer_weights_path() -> Path:
    """Where the installed Resemblyzer wheel keeps ``pretrained.pt``, found without importing it."""
    try:
        for file in importlib.metadata.files(RESEMBLYZER_DIST) or ():
            if file.name == WEIGHTS_FILE:
                path = Path(str(file.locate()))
                if path.is_file():
                    return path
    except importlib.metadata.PackageNotFoundError:
        pass
    # find_spec on a top-level name locates the package without running its __init__.
    spec = importlib.util.find_spec("resemblyzer")
    for folder in (spec.submodule_search_locations or ()) if spec else ():
        path = Path(folder) / WEIGHTS_FILE
        if path.is_file():
            return path
    raise SpeakerModelError(
        "The voice model for speaker labels is not installed. Install it with "
        "\"pip install --no-deps 'Resemblyzer==0.1.4'\" (or run 'make setup')."
    )


def partial_starts(n_samples: int) -> list[int]:
    """First frame of each partial utterance, following Resemblyzer's compute_partial_slices."""
    n_frames = int(np.ceil((n_samples + 1) / HOP_LENGTH))
    step = int(np.round((FRAMES_PER_SECOND * HOP_LENGTH / PARTIALS_PER_SECOND) / HOP_LENGTH))
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
    covered = (n_samples - starts[-1] * HOP_LENGTH) / (PARTIAL_FRAMES * HOP_LENGTH)
    if covered < MIN_COVERAGE and len(starts) > 1:
        starts.pop()
    return starts


class SpeakerEncoder:
    """Turns 16 kHz speech into voice embeddings; loads its weights on first use, thread-safe."""

    def __init__(self, weights_path: str | Path | None = None) -> None:
        self._weights_path = Path(weights_path) if weights_path else None
        self._lock = threading.Lock()
        self._layers: list[tuple[mx.array, mx.array, mx.array]] | None = None
        self._linear: tuple[mx.array, mx.array] | None = None

    # -- public API --------------------------------------------------------------------------

    def embed_utterance(self, audio: np.ndarray) -> np.ndarray:
        """One (256,) embedding for a whole utterance: the normalised mean of its partials.

        Like Resemblyzer's ``VoiceEncoder.embed_utterance`` with its defaults; pass the signal
        through ``normalize_volume`` first to match its ``preprocess_wav`` loudness step.
        """
        audio = _as_mono(audio)
        starts = partial_starts(len(audio))
        needed = (starts[-1] + PARTIAL_FRAMES) * HOP_LENGTH
        if needed >= len(audio):
            audio = np.pad(audio, (0, needed - len(audio)))
        mel = mel_frames(audio)
        partials = self.embed_frames(np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts]))
        mean = partials.mean(axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)

    def embed_windows(
        self,
        audio: np.ndarray,
        window_s: float = 1.5,
        hop_s: float = 0.5,
        regions: Sequence[tuple[float, float]] | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of sliding windows: (centres in seconds (N,), embeddings (N, 256)).

        Windows step by hop_s over the signal; with ``regions`` ((start_s, end_s) pairs), only
        windows whose centre lies in one are computed, plus one at the middle of any region too
        short to hold a centre. Windows near the ends are shifted to stay inside the signal.
        Each window is brought to TARGET_DBFS on its own: the encoder reads mel power without
        a log, so a voice getting louder would otherwise look like another voice.
        ``on_progress`` gets the fraction of windows done after each batch (it may raise to stop).
        """
        audio = _as_mono(audio)
        mel = mel_frames(audio)
        n_total = frame_count(len(audio))
        width = max(1, min(n_total, round(window_s * FRAMES_PER_SECOND)))
        centres = _window_centres(n_total, round(hop_s * FRAMES_PER_SECOND), regions)
        if not centres.size:
            return np.zeros(0), np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        starts = np.clip(centres - width // 2, 0, n_total - width)
        out = []
        for first in range(0, len(starts), BATCH_WINDOWS):
            batch = np.stack(
                [
                    mel[s : s + width] * _window_gain(audio, s, width)
                    for s in starts[first : first + BATCH_WINDOWS]
                ]
            )
            out.append(self.embed_frames(batch))
            if on_progress is not None:
                on_progress(min(1.0, (first + BATCH_WINDOWS) / len(starts)))
        return centres / FRAMES_PER_SECOND, np.concatenate(out)

    def embed_frames(self, mels: np.ndarray) -> np.ndarray:
        """(B, T, 40) mel frames -> (B, 256) L2-normalised embeddings (float32)."""
        mels = np.asarray(mels, dtype=np.float32)
        if mels.ndim != 3 or mels.shape[2] != N_MELS:
            raise ValueError(f"expected (batch, frames, {N_MELS}) mel frames, got {mels.shape}")
        out = [self._forward(mels[i : i + BATCH_WINDOWS]) for i in range(0, len(mels), BATCH_WINDOWS)]
        return np.concatenate(out) if out else np.zeros((0, EMBEDDING_SIZE), np.float32)

    def load(self) -> None:
        """Load the weights now (otherwise the first embedding does)."""
        with self._lock:
            if self._layers is None:
                self._load()

    # -- the network ---------------------------------------------------------------------------

    def _load(self) -> None:
        from stenogram.core.mlx_runtime import ensure_mlx

        ensure_mlx()
        import mlx.core as mx

        path = self._weights_path or resemblyzer_weights_path()
        try:
            state = load_state_dict(path)
        except TorchLegacyError as e:
            raise SpeakerModelError(f"The voice model at {path} cannot be read: {e}.") from e
        try:
            layers = []
            for n in range(NUM_LAYERS):
                w_ih = state[f"lstm.weight_ih_l{n}"]
                w_hh = state[f"lstm.weight_hh_l{n}"]
                # torch keeps two biases that are always added together; one does the same.
                bias = state[f"lstm.bias_ih_l{n}"] + state[f"lstm.bias_hh_l{n}"]
                _check_shape(w_hh, (4 * HIDDEN_SIZE, HIDDEN_SIZE), f"lstm.weight_hh_l{n}")
                scale = _gate_scale()
                layers.append(
                    (
                        mx.array((w_ih * scale[:, None]).T),
                        mx.array((w_hh * scale[:, None]).T),
                        mx.array(bias * scale),
                    )
                )
            linear = (mx.array(state["linear.weight"].T), mx.array(state["linear.bias"]))
            _check_shape(state["linear.weight"], (EMBEDDING_SIZE, HIDDEN_SIZE), "linear.weight")
        except KeyError as e:
            raise SpeakerModelError(f"The voice model at {path} lacks the weight {e}.") from e
        self._layers, self._linear = layers, linear

    def _forward(self, mels: np.ndarray) -> np.ndarray:
        self.load()
        import mlx.core as mx

        assert self._layers is not None and self._linear is not None
        x = mx.array(mels.transpose(1, 0, 2))  # time-major: each step reads one block
        for n, (w_ih, w_hh, bias) in enumerate(self._layers):
            last_layer = n == NUM_LAYERS - 1
            x = _lstm_layer(x, w_ih, w_hh, bias, keep_sequence=not last_layer)
        w, b = self._linear
        raw = mx.maximum(x @ w + b, 0.0)
        embeds = raw / mx.linalg.norm(raw, axis=1, keepdims=True)
        return np.array(embeds, dtype=np.float32)


def _lstm_layer(
    x: mx.array, w_ih: mx.array, w_hh: mx.array, bias: mx.array, keep_sequence: bool
) -> mx.array:
    """One LSTM layer with torch's gate order (input, forget, cell, output), time-major.

    x is (T, B, D); returns every step's hidden state (T, B, H), or only the last (B, H).
    The weights come pre-scaled by GATE_SCALE, so a single tanh gives all four gates
    (sigmoid(z) = 0.5 + 0.5 * tanh(z / 2)). The input projection of all steps is one matrix
    product; only h @ W_hh is sequential.
    """
    import mlx.core as mx

    tanh = _tanh_function()
    gates_x = mx.addmm(bias, x, w_ih)  # (T, B, 4H)
    steps, batch = x.shape[0], x.shape[1]
    h = mx.zeros((batch, HIDDEN_SIZE), dtype=x.dtype)
    c = mx.zeros((batch, HIDDEN_SIZE), dtype=x.dtype)
    outputs = []
    for t in range(steps):
        squashed = tanh(gates_x[t] + h @ w_hh)
        i, f, g, o = mx.split(squashed, 4, axis=-1)
        c = (0.5 + 0.5 * f) * c + (0.5 + 0.5 * i) * g
        h = (0.5 + 0.5 * o) * tanh(c)
        if keep_sequence:
            outputs.append(h)
        if t % 16 == 15:
            mx.eval(h, c)  # keeps the lazy graph short
    return mx.stack(outputs) if keep_sequence else h


def _gate_scale() -> np.ndarray:
    """Per-row factors folded into the LSTM weights: 1/2 for the sigmoid gates, 1 for g."""
    scale = np.full(4 * HIDDEN_SIZE, 0.5, dtype=np.float32)
    scale[2 * HIDDEN_SIZE : 3 * HIDDEN_SIZE] = 1.0
    return scale


# Eigen's rational approximation of tanh for float32 (within 3e-7 of the exact value).
_TANH_CLAMP = 7.90531110763549805
_TANH_P = (
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
)
_TANH_Q = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)


def _rational_tanh(x: mx.array) -> mx.array:
    import mlx.core as mx

    x = mx.clip(x, -_TANH_CLAMP, _TANH_CLAMP)
    x2 = x * x
    p = mx.full(x.shape, _TANH_P[0], dtype=x.dtype)
    for coef in _TANH_P[1:]:
        p = p * x2 + coef
    q = mx.full(x.shape, _TANH_Q[0], dtype=x.dtype)
    for coef in _TANH_Q[1:]:
        q = q * x2 + coef
    return x * p / q


def _tanh_function():  # type: ignore[no-untyped-def]
    """MLX's CPU backend computes tanh one element at a time (about 15 ns each here), 5x
    slower than this polynomial made of vectorised multiply-adds; Metal keeps its own tanh."""
    import mlx.core as mx

    if mx.default_device() == mx.cpu:
        return _rational_tanh
    return mx.tanh


def _window_centres(
    n_frames: int, hop_frames: int, regions: Sequence[tuple[float, float]] | None
) -> np.ndarray:
    hop_frames = max(1, hop_frames)
    centres = np.arange(hop_frames // 2, n_frames, hop_frames)
    if regions is None:
        return centres
    seconds = centres / FRAMES_PER_SECOND
    chosen = []
    for start_s, end_s in regions:
        inside = centres[(seconds >= start_s) & (seconds < end_s)]
        if not inside.size and end_s > start_s:
            middle = round((start_s + end_s) / 2 * FRAMES_PER_SECOND)
            inside = np.array([min(max(middle, 0), n_frames - 1)])
        chosen.append(inside)
    return np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=int)


def _window_gain(audio: np.ndarray, first_frame: int, width: int) -> float:
    """Mel-power factor that brings one window's samples to TARGET_DBFS."""
    samples = audio[first_frame * HOP_LENGTH : (first_frame + width) * HOP_LENGTH]
    if not samples.size:
        return 1.0
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) * INT16_MAX) ** 2)))
    if rms <= 1.0:  # digital silence: nothing to bring up
        return 1.0
    change_db = TARGET_DBFS - 20.0 * np.log10(rms / INT16_MAX)
    return float(10 ** (change_db / 10.0))  # power, so dB / 10


def _check_shape(array: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    if array.shape != shape:
        raise SpeakerModelError(f"The voice model's {name} has shape {array.shape}, not {shape}.")


def _as_mono(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError("expected mono audio as a 1-D array of 16 kHz samples")
    return audio
