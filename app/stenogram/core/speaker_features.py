"""The voice encoder's front end: 40-band mel power frames, as Resemblyzer computes them.

Resemblyzer calls ``librosa.feature.melspectrogram`` with librosa's defaults (librosa 0.11):
a periodic Hann window of n_fft = 400 samples (25 ms), hop 160 (10 ms), frames centred by
padding n_fft // 2 zeros on each side, power 2, a Slaney-style mel filterbank with Slaney
area normalisation, and no logarithm. This module computes the same with numpy alone.
"""

from __future__ import annotations

from functools import cache

import numpy as np

SAMPLE_RATE = 16_000  # Hz
WINDOW_MS = 25
HOP_MS = 10
N_FFT = SAMPLE_RATE * WINDOW_MS // 1000  # 400 samples: the window and the FFT size
HOP_LENGTH = SAMPLE_RATE * HOP_MS // 1000  # 160 samples between frames
N_MELS = 40
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 100
INT16_MAX = 2**15 - 1
TARGET_DBFS = -30.0  # Resemblyzer's audio_norm_target_dBFS
STFT_BLOCK_FRAMES = 4096  # frames per FFT block: bounds memory on hour-long files

# Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's default, htk=False).
_MEL_F_SP = 200.0 / 3
_MEL_MIN_LOG_HZ = 1000.0
_MEL_MIN_LOG_MEL = _MEL_MIN_LOG_HZ / _MEL_F_SP
_MEL_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _MEL_F_SP
    log = _MEL_MIN_LOG_MEL + np.log(np.maximum(hz, _MEL_MIN_LOG_HZ) / _MEL_MIN_LOG_HZ) / _MEL_LOG_STEP
    return np.where(hz >= _MEL_MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _MEL_F_SP
    log = _MEL_MIN_LOG_HZ * np.exp(_MEL_LOG_STEP * (mel - _MEL_MIN_LOG_MEL))
    return np.where(mel >= _MEL_MIN_LOG_MEL, log, linear)


@cache
def mel_filterbank() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular filters with Slaney area normalisation."""
    fft_hz = np.fft.rfftfreq(N_FFT, d=1.0 / SAMPLE_RATE)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


@cache
def _hann() -> np.ndarray:
    # Periodic Hann (scipy.signal.get_window("hann", N_FFT), fftbins=True), as librosa uses.
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)).astype(np.float32)


def frame_count(n_samples: int) -> int:
    """How many mel frames a signal of n_samples gives (centred frames)."""
    return 1 + n_samples // HOP_LENGTH


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) float32 mel power frames of a 16 kHz mono signal; no log."""
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    padded = np.pad(wav, N_FFT // 2)
    n_frames = frame_count(len(wav))
    filters = mel_filterbank().T
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for first in range(0, n_frames, STFT_BLOCK_FRAMES):
        last = min(n_frames, first + STFT_BLOCK_FRAMES)
        chunk = padded[first * HOP_LENGTH : (last - 1) * HOP_LENGTH + N_FFT]
        frames = np.lib.stride_tricks.sliding_window_view(chunk, N_FFT)[::HOP_LENGTH]
        spectrum = np.fft.rfft(frames * _hann(), axis=-1)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
        out[first:last] = power @ filters
    return out


def normalize_volume(wav: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise a quiet signal to target_dbfs RMS (never lower it), as Resemblyzer's preprocessing does.

    The encoder reads mel power without a log, so loudness changes its input; this puts quiet
    recordings where the model was trained.
    """
    wav = np.asarray(wav, dtype=np.float32)
    rms = float(np.sqrt(np.mean((wav.astype(np.float64) * INT16_MAX) ** 2))) if wav.size else 0.0
    if rms <= 0.0:
        return wav
    change_db = target_dbfs - 20.0 * np.log10(rms / INT16_MAX)
    if change_db < 0:
        return wav
    return (wav * 10 ** (change_db / 20.0)).astype(np.float32)
