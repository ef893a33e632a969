"""A transcription started before it is known to be wanted, kept only if it turns out to be.

Dictation ends after a pause of ``end_silence_ms``; by then the speech to transcribe has been
known for most of that pause. Starting on it as soon as the pause begins, and throwing the
work away if the speaker goes on, puts the text on the clipboard as the pause is confirmed
instead of a transcription later.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from stenogram.core.engine import TranscribeOptions, Transcriber, TranscriptionCancelled
from stenogram.core.mlx_runtime import release_thread_streams
from stenogram.core.transcript import Transcript


class Speculation:
    """Transcribes ``audio`` (the span ``key`` of a recording) on a thread of its own."""

    def __init__(
        self, transcriber: Transcriber, audio: np.ndarray, options: TranscribeOptions, key: tuple[int, int]
    ) -> None:
        self.key = key
        self._transcriber = transcriber
        self._audio = audio
        self._options = options
        self._cancel = threading.Event()
        self._result: Transcript | None = None
        self._thread = threading.Thread(target=self._run, name="dictation-speculation", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Not wanted after all: stop soon (the transcriber is free within a decoder step)."""
        self._cancel.set()

    def result(self) -> Transcript | None:
        """Waits for the transcript; None when it was cancelled or failed (transcribe again).

        Joins the thread: MLX aborts the process if it exits while a thread that used MLX
        is still winding down.
        """
        self._thread.join()
        return self._result

    def _run(self) -> None:
        # Cancelled or failed: the caller transcribes again, and reports a failure then.
        with contextlib.suppress(TranscriptionCancelled, Exception):
            self._result = self._transcriber.transcribe(self._audio, self._options, cancel=self._cancel)
        release_thread_streams()
