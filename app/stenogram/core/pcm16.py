"""Audio kept as 16-bit PCM: half the memory of float32, at the precision Whisper reads.

openai-whisper and mlx-whisper decode every file with ffmpeg to signed 16-bit samples and
scale them by 1/32768, so speech held as int16 is what Whisper was built and tested on; a
file whose samples were 16-bit to begin with (WAV, most FLAC) comes back bit for bit.
"""

from __future__ import annotations

import numpy as np

PCM_SCALE = 32768.0  # int16 full scale, as Whisper's loader divides by it
_TO_FLOAT = np.float32(1.0 / PCM_SCALE)  # a power of two: the scaling itself is exact


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples (full scale ±1) as int16, rounded to the nearest step, clipped."""
    scaled = np.multiply(samples, np.float32(PCM_SCALE), dtype=np.float32)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -PCM_SCALE, PCM_SCALE - 1, out=scaled)
    return scaled.astype(np.int16)


def to_float32(samples: np.ndarray) -> np.ndarray:
    """float32 samples: int16 PCM scaled by 1/32768, float audio as it is (no copy if float32)."""
    if samples.dtype == np.int16:
        out = samples.astype(np.float32)
        out *= _TO_FLOAT
        return out
    return np.asarray(samples, dtype=np.float32)
