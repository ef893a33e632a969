"""Whisper's log-Mel features, computed in bounded memory for files of any length.

Whisper normalises the whole file's log-Mel spectrogram by its global maximum, so a window's
features depend on the rest of the file. We compute the log-Mel frames chunk by chunk (the STFT
temporaries stay small), keep only the float32 frames (80 x 4 bytes per 10 ms: 115 MB an hour),
and apply the global clamp once at the end: the same numbers as Whisper's one-shot version.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from stenogram.core.pcm16 import to_float32

SAMPLE_RATE = 16000  # Hz, what Whisper hears
N_FFT = 400  # 25 ms analysis window
HOP_LENGTH = 160  # 10 ms between frames
CHUNK_SECONDS = 30
N_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE  # 480000 samples in a 30-second window
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000 frames in a window
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 100
DYNAMIC_RANGE = 8.0  # log10 units kept below the loudest frame
FRAMES_PER_BLOCK = 6000  # 60 s of frames per pass over the audio
FFT_FRAMES = 1000  # frames per FFT call: bounded temporaries
KEEP_FRAMES_UP_TO = 10 * 60 * FRAMES_PER_SECOND  # longer audio computes features per window


@cache
def mel_filters(n_mels: int) -> np.ndarray:
    """The Slaney mel filterbank Whisper was trained with, as shipped by mlx-whisper."""
    with resources.files("mlx_whisper").joinpath("assets/mel_filters.npz").open("rb") as f:
        return np.load(f)[f"mel_{n_mels}"].astype(np.float32)


@cache
def _hann() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)


@dataclass(frozen=True)
class LogMel:
    """Normalised log-Mel frames of a whole recording, shape (n_frames, n_mels)."""

    frames: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_frames / FRAMES_PER_SECOND

    def window(self, start: int, length: int = N_FRAMES) -> np.ndarray:
        """Frames [start, start+length) zero-padded to a full 30 s window, like Whisper."""
        out = np.zeros((N_FRAMES, self.frames.shape[1]), dtype=np.float32)
        part = self.frames[start : start + min(length, N_FRAMES)]
        out[: len(part)] = part
        return out


class LazyLogMel:
    """The same features as ``LogMel``, computed window by window when they are asked for.

    One pass finds the global maximum (Whisper's normaliser) without keeping any frames; a
    window's frames are then computed on demand: an hour of speech keeps no 115 MB feature
    array, only its audio. That audio may be int16 PCM (see ``pcm16``): it is then turned
    into floats a few seconds at a time, never as a whole.
    """

    def __init__(self, audio: np.ndarray, n_mels: int = 80) -> None:
        self._audio = audio if audio.dtype == np.int16 else np.asarray(audio, dtype=np.float32)
        self._filters = mel_filters(n_mels)
        self.n_mels = n_mels
        self.n_frames = len(self._audio) // HOP_LENGTH
        self._floor = _global_peak(self._audio, self.n_frames, self._filters) - DYNAMIC_RANGE

    @property
    def duration_s(self) -> float:
        return self.n_frames / FRAMES_PER_SECOND

    def window(self, start: int, length: int = N_FRAMES) -> np.ndarray:
        out = np.zeros((N_FRAMES, self.n_mels), dtype=np.float32)
        last = min(self.n_frames, start + min(length, N_FRAMES))
        if last > start:
            block = _log_mel_block(self._audio, start, last, self._filters)
            out[: last - start] = (np.maximum(block, self._floor) + 4.0) / 4.0
        return out


def _global_peak(audio: np.ndarray, n_frames: int, filters: np.ndarray) -> float:
    peak = -np.inf
    for first in range(0, n_frames, FRAMES_PER_BLOCK):
        last = min(n_frames, first + FRAMES_PER_BLOCK)
        peak = max(peak, float(_log_mel_block(audio, first, last, filters).max(initial=-np.inf)))
    return peak


def log_mel_features(audio: np.ndarray, n_mels: int = 80) -> LogMel | LazyLogMel:
    """Features kept whole for audio up to ten minutes, computed per window beyond that."""
    if len(audio) // HOP_LENGTH > KEEP_FRAMES_UP_TO:
        return LazyLogMel(audio, n_mels)
    return compute_log_mel(audio, n_mels)


def compute_log_mel(audio: np.ndarray, n_mels: int = 80) -> LogMel:
    """Whisper's log-Mel spectrogram of 16 kHz mono audio (float, or int16 PCM), one frame
    per 10 ms of audio."""
    audio = to_float32(audio)
    n_frames = len(audio) // HOP_LENGTH
    frames = np.empty((n_frames, n_mels), dtype=np.float32)
    filters = mel_filters(n_mels)
    peak = -np.inf
    for first in range(0, n_frames, FRAMES_PER_BLOCK):
        last = min(n_frames, first + FRAMES_PER_BLOCK)
        block = _log_mel_block(audio, first, last, filters)
        frames[first:last] = block
        peak = max(peak, float(block.max(initial=-np.inf)))
    if n_frames:
        np.maximum(frames, peak - DYNAMIC_RANGE, out=frames)
        frames += 4.0
        frames /= 4.0
    return LogMel(frames)


def _log_mel_block(audio: np.ndarray, first: int, last: int, filters: np.ndarray) -> np.ndarray:
    """log10 mel power of frames [first, last), FFT_FRAMES at a time (the FFT's temporaries
    take about 20 KB a frame: 10 s of frames is 20 MB, a minute would be 120 MB)."""
    if last - first <= FFT_FRAMES:
        return _log_mel_frames(audio, first, last, filters)
    out = np.empty((last - first, filters.shape[0]), dtype=np.float32)
    for start in range(first, last, FFT_FRAMES):
        stop = min(last, start + FFT_FRAMES)
        out[start - first : stop - first] = _log_mel_frames(audio, start, stop, filters)
    return out


def _log_mel_frames(audio: np.ndarray, first: int, last: int, filters: np.ndarray) -> np.ndarray:
    """log10 mel power of frames [first, last); frame t is centred on sample t * HOP_LENGTH."""
    half = N_FFT // 2
    lo = first * HOP_LENGTH - half
    hi = (last - 1) * HOP_LENGTH + half
    segment = _padded_slice(audio, lo, hi)
    windows = np.lib.stride_tricks.sliding_window_view(segment, N_FFT)[::HOP_LENGTH]
    spectrum = np.fft.rfft(windows * _hann(), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    mel = power @ filters.T
    return np.log10(np.maximum(mel, 1e-10))


def _padded_slice(audio: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """audio[lo:hi] as float32, as Whisper sees it: reflected at the start, 30 s of silence
    after the end."""
    out = np.zeros(hi - lo, dtype=np.float32)
    if lo < 0:  # reflect padding at the very start (without repeating sample 0)
        n = min(-lo, len(audio) - 1)
        out[-lo - n : -lo] = to_float32(audio[1 : n + 1][::-1])
    src_lo, src_hi = max(lo, 0), min(hi, len(audio))
    if src_hi > src_lo:
        out[src_lo - lo : src_hi - lo] = to_float32(audio[src_lo:src_hi])
    return out
