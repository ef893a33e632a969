"""Dictation and live transcription in a child process, so MLX never stalls the window.

MLX and the decoder hold the GIL for tens of milliseconds at a time (see engine_process), so
the whole voice pipeline runs in one warm child: it records (``core.recorder``, crash-safe
WAV), runs ``core.dictation.Dictation`` or ``core.live.LiveTranscriber`` on the chunks, and
sends typed messages (``voice_messages``) back. The app's side is ``VoiceProcess``: it sends
commands and hands every message to its listeners on a reader thread (the Qt shim queues them
to the GUI thread). The child is started on first use and keeps the model warm between uses.

A killed child leaves a ``*.partial.wav`` that ``find_unfinished_recordings`` offers back.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing as mp
import os
import threading
from collections.abc import Callable
from typing import Any

from stenogram.ui.voice_messages import (
    Control,
    DictationDone,
    LiveDone,
    Problem,
    Quit,
    Ready,
    StartDictation,
    StartLive,
    WarmUp,
)

log = logging.getLogger(__name__)

CHILD_NICE = 5  # below the window, but the recorder's writer must keep up with the microphone
QUIT_GRACE_S = 20.0  # time the child gets to finish a recording and its last decode on quit
CRASH_MESSAGE = (
    "The voice process stopped unexpectedly. What was recorded until then is kept and will be "
    "offered back the next time Stenogram starts."
)

Listener = Callable[[Any], None]


class _Child:
    """One spawned child, its command pipe, and the sessions it has in hand."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that runs Qt threads
        child_in, self.conn = ctx.Pipe(duplex=False)
        self.events, child_out = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child_main, args=(child_in, child_out), daemon=True,
                                name="stenogram-voice")  # fmt: skip
        self.proc.start()
        child_in.close()
        child_out.close()
        self.active: set[int] = set()  # sessions started and not yet finished

    def alive(self) -> bool:
        return self.proc.is_alive()


class VoiceProcess:
    """The app's handle on the voice child. Thread-safe; messages reach listeners on a thread."""

    def __init__(self) -> None:
        self._child: _Child | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    # -- listeners -------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    # -- commands --------------------------------------------------------------------------
    def start_dictation(self, options: dict[str, Any], **kw: Any) -> int:
        """Starts listening; returns the session id its messages carry."""
        session = next(self._ids)
        self._start(StartDictation(session, dict(options), **kw))
        return session

    def start_live(self, options: dict[str, Any], **kw: Any) -> int:
        session = next(self._ids)
        self._start(StartLive(session, dict(options), **kw))
        return session

    def stop(self, session: int) -> None:
        self._control(Control(session, "stop"))

    def pause(self, session: int) -> None:
        self._control(Control(session, "pause"))

    def resume(self, session: int) -> None:
        self._control(Control(session, "resume"))

    def warm_up(self, model: str) -> None:
        with self._lock:
            child = self._ensure()
            with contextlib.suppress(OSError, ValueError):
                child.conn.send(WarmUp(model))

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.proc.pid if child is not None else None

    @property
    def busy(self) -> bool:
        child = self._child
        return child is not None and bool(child.active)

    def close(self, timeout_s: float = QUIT_GRACE_S) -> None:
        """Asks the child to finish its recording and quit; stops it by force after a while."""
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return
        with contextlib.suppress(OSError, ValueError):
            child.conn.send(Quit())
        child.proc.join(timeout_s)
        if child.proc.is_alive():
            child.proc.kill()
            child.proc.join(2)

    # -- plumbing --------------------------------------------------------------------------
    def _start(self, request: StartDictation | StartLive) -> None:
        with self._lock:
            child = self._ensure()
            child.active.add(request.session)
            try:
                child.conn.send(request)
                return
            except (OSError, ValueError):  # it died just now: a fresh one starts next time
                child.active.discard(request.session)
                self._child = None
        self._deliver(Problem(request.session, "crash", CRASH_MESSAGE))

    def _control(self, message: Control) -> None:
        with self._lock:
            child = self._child  # never start a child just to stop something
            if child is None or message.session not in child.active:
                return
            with contextlib.suppress(OSError, ValueError):
                child.conn.send(message)

    def _ensure(self) -> _Child:
        if self._child is None or not self._child.alive():
            self._child = _Child()
            threading.Thread(target=self._read, args=(self._child,), name="stenogram-voice-reader",
                             daemon=True).start()  # fmt: skip
        return self._child

    def _read(self, child: _Child) -> None:
        while True:
            try:
                message = child.events.recv()
            except (EOFError, OSError):
                break
            if isinstance(message, (DictationDone, LiveDone)) or (
                isinstance(message, Problem) and message.fatal
            ):
                child.active.discard(message.session)
            self._deliver(message)
        child.events.close()
        for session in sorted(child.active):  # it died with work in hand
            child.active.discard(session)
            self._deliver(Problem(session, "crash", CRASH_MESSAGE))

    def _deliver(self, message: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:  # one window's bug must not silence the others
                log.exception("voice listener failed")


# --- the child ------------------------------------------------------------------------------


class _Outbox:
    """Sends from several threads (recorder writer, decoder, dictation worker) one at a time."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def __call__(self, message: Any) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._conn.send(message)


def _child_main(inbox: Any, outbox_conn: Any) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.nice(CHILD_NICE)
    from stenogram.ui.voice_runs import DictationRun, LiveRun, Run, transcriber

    send = _Outbox(outbox_conn)
    current: Run | None = None
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError):
            message = Quit()
        if isinstance(message, Quit):
            if current is not None:
                current.stop()
                current.wait(QUIT_GRACE_S - 2)
            return
        if isinstance(message, WarmUp):
            threading.Thread(target=_warm, args=(transcriber, message.model, send),
                             daemon=True).start()  # fmt: skip
        elif isinstance(message, (StartDictation, StartLive)):
            if current is not None and not current.done:
                send(Problem(message.session, "Busy",
                             "Stenogram is already recording; stop that first."))  # fmt: skip
                continue
            kind = DictationRun if isinstance(message, StartDictation) else LiveRun
            current = kind(message, send)
            current.start()
        elif isinstance(message, Control) and current is not None \
                and current.session == message.session:  # fmt: skip
            current.control(message.action)


def _warm(get_transcriber: Callable[[], Any], model: str, send: Callable[[Any], None]) -> None:
    from stenogram.core.mlx_runtime import release_thread_streams

    try:
        get_transcriber().warm_up(model, word_timestamps=True)  # live mode needs word times
    except Exception as exc:  # a missing model: the session that uses it reports it too
        send(Ready(model, getattr(exc, "user_message", None) or str(exc)))
        return
    finally:
        release_thread_streams()  # this thread ends here; MLX's streams must not outlive it
    send(Ready(model))
