"""Fixtures for the voice tests: decoded real speech, and (in voice_fixtures) a virtual mic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest


def decode_16k(path: Path) -> np.ndarray:
    """A media file as 16 kHz mono float32, resampled by PyAV (libswresample)."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
        parts = [
            out.to_ndarray()[0]
            for frame in container.decode(audio=0)
            for out in resampler.resample(frame)
        ]
        parts += [out.to_ndarray()[0] for out in resampler.resample(None)]
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture(scope="session")
def load_16k(shared_audio: Path) -> Callable[[str], np.ndarray]:
    """Decodes a clip of ../shared/audio by name, once per session."""
    cache: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = decode_16k(shared_audio / name)
        return cache[name]

    return load
