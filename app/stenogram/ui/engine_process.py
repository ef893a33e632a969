"""The engine in its own process, so nothing it does can stall the window.

MLX, the decoder loop and the media decoder hold Python's GIL for tens of milliseconds at a
time; in a thread of the app's process that shows up as a stuttering window. A child process
(spawned on the first job, niced so the window wins the CPU) keeps the model warm between jobs.
The app's worker thread calls `EngineProcess.transcribe`, which has the engine's signature but
takes options as a plain dict, so the app's process never imports the engine or MLX.

Messages are typed tuples over two one-way pipes:
  parent → child: ("job", id, media, options) | ("cancel", id) | ("stop",)
  child → parent: ("progress", id, fraction) | ("done", id, transcript)
                  | ("failed", id, kind, user_message) | ("cancelled", id)
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

CHILD_NICE = 10  # lower priority for the engine: the window must stay responsive
POLL_S = 0.1  # how often the waiting worker thread checks for cancel
CANCEL_GRACE_S = 5.0  # after this long a cancelled job's process is stopped by force
PROGRESS_INTERVAL_S = 0.05


class EngineProcessError(Exception):
    """A failure reported by the engine process; `user_message` is its sentence."""

    def __init__(self, kind: str, user_message: str) -> None:
        super().__init__(user_message)
        self.kind = kind
        self.user_message = user_message


class EngineCancelled(Exception):
    """The job was cancelled."""


class EngineProcess:
    """A warm engine in a child process. Call `transcribe` from one worker thread at a time."""

    def __init__(self) -> None:
        self._proc: Any = None
        self._send: Any = None
        self._recv: Any = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        ctx = mp.get_context("spawn")  # never fork a process that runs Qt threads
        child_in, self._send = ctx.Pipe(duplex=False)
        self._recv, child_out = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child_main, args=(child_in, child_out), daemon=True,
                                 name="stenogram-engine")
        self._proc.start()
        child_in.close()
        child_out.close()

    def transcribe(self, media: Any, options: dict[str, Any],
                   on_progress: Callable[[float], None] | None = None,
                   cancel: threading.Event | None = None) -> Any:
        with self._lock:
            self._ensure()
            job = next(self._ids)
            self._send.send(("job", job, str(media), dict(options)))
            cancel_sent_at: float | None = None
            while True:
                if cancel is not None and cancel.is_set() and cancel_sent_at is None:
                    self._send.send(("cancel", job))
                    cancel_sent_at = time.monotonic()
                if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                    self._kill()  # it did not stop in time: a fresh process takes the next job
                    raise EngineCancelled()
                if not self._recv.poll(POLL_S):
                    if not self._proc.is_alive():
                        self._proc = None
                        raise EngineProcessError("crash", "The transcription engine stopped unexpectedly; "
                                                 "try again (it restarts by itself).")
                    continue
                try:
                    message = self._recv.recv()
                except EOFError:
                    self._proc = None
                    raise EngineProcessError("crash", "The transcription engine stopped unexpectedly.") from None
                kind, mid = message[0], message[1]
                if mid != job:
                    continue  # a late message of an earlier, abandoned job
                if kind == "progress" and on_progress is not None:
                    on_progress(message[2])
                elif kind == "done":
                    return message[2]
                elif kind == "cancelled":
                    raise EngineCancelled()
                elif kind == "failed":
                    raise EngineProcessError(message[2], message[3])

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(2)
        self._proc = None

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop the child (politely, then by force)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self._send.send(("stop",))
        proc.join(timeout_s)
        if proc.is_alive():
            proc.kill()
            proc.join(1)


# --- the child ------------------------------------------------------------------------------

def _child_main(inbox: Any, outbox: Any) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.nice(CHILD_NICE)
    jobs: queue.Queue[Any] = queue.Queue()
    cancels: dict[int, threading.Event] = {}

    def listen() -> None:  # reads requests so a cancel arrives while a job runs
        while True:
            try:
                message = inbox.recv()
            except (EOFError, OSError):
                jobs.put(("stop",))
                return
            if message[0] == "cancel":
                cancels.setdefault(message[1], threading.Event()).set()
            else:
                jobs.put(message)
                if message[0] == "stop":
                    return

    threading.Thread(target=listen, daemon=True).start()
    from stenogram.core.engine import Transcriber

    transcriber = Transcriber()
    while True:
        message = jobs.get()
        if message[0] == "stop":
            return
        _, job, media, options = message
        cancel = cancels.setdefault(job, threading.Event())
        outbox.send(_run(transcriber, job, media, options, cancel, outbox))
        cancels.pop(job, None)


def _run(transcriber: Any, job: int, media: str, options: dict[str, Any], cancel: threading.Event,
         outbox: Any) -> tuple[Any, ...]:
    from stenogram.core.engine import TranscribeOptions, TranscriptionCancelled

    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            outbox.send(("progress", job, float(fraction)))

    try:
        transcript = transcriber.transcribe(media, TranscribeOptions(**options), on_progress=progress,
                                            cancel=cancel)
    except TranscriptionCancelled:
        return ("cancelled", job)
    except Exception as exc:  # noqa: BLE001 — every failure goes back as a sentence
        if cancel.is_set():
            return ("cancelled", job)
        message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
        return ("failed", job, type(exc).__name__, message)
    if cancel.is_set():
        return ("cancelled", job)
    return ("done", job, transcript)
