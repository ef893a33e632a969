"""Feeds a clip to audio listeners as a microphone would: in small chunks, in real time.

Dictation and live transcription take 16 kHz chunks through ``feed(chunk)`` whether they come
from the ``Recorder`` or from here, so tests and benchmarks run the very code the microphone
runs, repeatably.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

SAMPLE_RATE = 16_000
CHUNK_MS = 50  # what the Recorder delivers per PortAudio block


def feed_audio(
    audio: np.ndarray,
    listener: Callable[[np.ndarray], None],
    *,
    speed: float = 1.0,
    chunk_ms: int = CHUNK_MS,
    cancel: threading.Event | None = None,
) -> None:
    """Calls ``listener`` with consecutive chunks of ``audio`` (16 kHz mono float32).

    ``speed`` 1.0 paces chunks at real time, 2.0 twice as fast; ``math.inf`` does not wait.
    Chunk k is delivered once its last sample would have been heard, as from a microphone.
    """
    step = SAMPLE_RATE * chunk_ms // 1000
    started = time.monotonic()
    for pos in range(0, len(audio), step):
        if cancel is not None and cancel.is_set():
            return
        chunk = np.ascontiguousarray(audio[pos : pos + step], dtype=np.float32)
        if not math.isinf(speed):
            due = started + (pos + len(chunk)) / SAMPLE_RATE / speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        listener(chunk)
