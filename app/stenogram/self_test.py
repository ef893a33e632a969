"""`stenogram --self-test`: prove that this installation can transcribe, end to end.

It finds the bundled clip (``resources/self_test/self_test.flac``, synthetic speech), picks a
model (``--model``; else the default model; else any installed model; else it installs the
bundled tiny.en into the store first), transcribes the clip with the real engine and checks
that a few keywords were heard. It prints each step, and on failure one sentence saying what is
wrong. The packaged app's smoke test (``packaging/smoke_test.sh``) runs exactly this.
"""

from __future__ import annotations

import platform
import re
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from stenogram import __version__
from stenogram.core.app_resources import SELF_TEST_CLIP, is_frozen, resource

# Words of "This is the self test. The quick brown fox jumps over the lazy dog." that tiny.en
# and base both hear in the clip; "brown" and "jumps" are left out because tiny.en sometimes
# writes "round" and "jump".
KEYWORDS = ("quick", "fox", "lazy", "dog")
EXIT_OK = 0
EXIT_FAILED = 1


class SelfTestFailure(Exception):
    """One step failed; the message is the sentence shown to the user."""


@dataclass(frozen=True)
class SelfTestResult:
    model: str  # the name or folder that was used
    text: str
    missing: tuple[str, ...]  # keywords that were not heard
    seconds: float


def run_self_test(model: str | None = None, out: TextIO | None = None) -> int:
    """Run the self-test, report to ``out`` (stdout), and return the process exit code."""
    out = out or sys.stdout
    started = time.monotonic()
    _say(out, f"Stenogram {__version__} self-test ({_runtime_description()})")
    try:
        result = _run(model, out, started)
    except SelfTestFailure as exc:
        _say(out, f"Self-test FAILED: {exc}")
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 — a self-test reports every failure, never crashes
        traceback.print_exc(file=sys.stderr)
        _say(out, f"Self-test FAILED: unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    if result.missing:
        _say(out, f"Self-test FAILED: the model did not hear {', '.join(result.missing)!s} in "
                  f"the test clip (it heard: {result.text!r}).")
        return EXIT_FAILED
    _say(out, f"Self-test passed in {result.seconds:.1f} s.")
    return EXIT_OK


def _run(model: str | None, out: TextIO, started: float) -> SelfTestResult:
    clip = resource(*SELF_TEST_CLIP)
    if not clip.is_file():
        raise SelfTestFailure(f"the test clip {clip} is missing; this installation is incomplete.")
    _say(out, f"  clip:   {clip}")
    chosen = _choose_model(model, out)
    text, seconds = _transcribe(clip, chosen, out)
    _say(out, f"  heard:  {text!r} ({seconds:.1f} s)")
    missing = missing_keywords(text)
    found = [k for k in KEYWORDS if k not in missing]
    _say(out, f"  words:  {len(found)} of {len(KEYWORDS)} keywords heard ({', '.join(found) or 'none'})")
    if not missing:  # the same clip through the window's engine, a child process
        text = _transcribe_in_engine_process(clip, chosen, out)
        missing = missing_keywords(text)
    return SelfTestResult(chosen, text, missing, time.monotonic() - started)


def missing_keywords(text: str, keywords: Sequence[str] = KEYWORDS) -> tuple[str, ...]:
    """The keywords that are not whole words of ``text`` (case and punctuation ignored)."""
    words = set(re.findall(r"[a-z']+", text.lower()))
    return tuple(k for k in keywords if k not in words)


def _choose_model(requested: str | None, out: TextIO) -> str:
    from stenogram.core.engine import DEFAULT_MODEL
    from stenogram.core.model_errors import ModelError
    from stenogram.core.models import ModelStore

    store = ModelStore()
    try:
        if requested:
            path = store.resolve(requested)
            _say(out, f"  model:  {requested} ({path})")
            return requested
        if store.is_installed(DEFAULT_MODEL):
            _say(out, f"  model:  {DEFAULT_MODEL}, the default ({store.root / DEFAULT_MODEL})")
            return DEFAULT_MODEL
        installed = store.list_installed()
        if installed:
            _say(out, f"  model:  {installed[0].name} ({DEFAULT_MODEL} is not installed)")
            return installed[0].name
        return _install_bundled_default(store, DEFAULT_MODEL, out)
    except ModelError as exc:
        raise SelfTestFailure(str(exc)) from exc


def _install_bundled_default(store, name: str, out: TextIO) -> str:
    if name not in {m.name for m in store.bundled_available()}:
        raise SelfTestFailure(
            f"no model is installed in {store.root} and the bundled {name} is not part of this "
            f"installation; install one with `stenogram models download {name}` "
            "or `stenogram models import FOLDER`."
        )
    _say(out, f"  model:  none installed; installing the bundled {name} into {store.root}…")
    began = time.monotonic()
    info = store.install_bundled(name)
    _say(out, f"          installed {info.name} ({info.dtype}) in {time.monotonic() - began:.1f} s")
    return info.name


def _transcribe(clip, model: str, out: TextIO) -> tuple[str, float]:
    from stenogram.core.engine import EngineError, TranscribeOptions, Transcriber

    began = time.monotonic()
    try:
        # Word timestamps on: they run the alignment (DTW) that the app's subtitles rely on.
        options = TranscribeOptions(model=model, language="en", word_timestamps=True)
        transcript = Transcriber().transcribe(clip, options)
    except EngineError as exc:
        raise SelfTestFailure(exc.user_message) from exc
    except Exception as exc:
        message = getattr(exc, "user_message", None)
        if message:  # media and model errors say what is wrong in a sentence
            raise SelfTestFailure(message) from exc
        raise
    _say(out, f"  engine: {_mlx_description()}")
    words = _check_word_times(transcript)
    _say(out, f"  times:  {len(words)} words, from {words[0].start_ms / 1000:.2f} s "
              f"to {words[-1].end_ms / 1000:.2f} s")
    text = "".join(s.text for s in transcript.segments).strip()
    return text, time.monotonic() - began


def _transcribe_in_engine_process(clip, model: str, out: TextIO) -> str:
    """The app runs the engine in a spawned child process; in a bundle that is the executable
    itself started again, which only works when the bundle is built right."""
    from stenogram.ui.engine_process import EngineProcess, EngineProcessError

    began = time.monotonic()
    engine = EngineProcess()
    try:
        transcript = engine.transcribe(str(clip), {"model": model, "language": "en"})
    except EngineProcessError as exc:
        raise SelfTestFailure(f"the app's engine process failed: {exc.user_message}") from exc
    finally:
        engine.close()
    text = "".join(s.text for s in transcript.segments).strip()
    _say(out, f"  app engine (child process): {text!r} ({time.monotonic() - began:.1f} s)")
    return text


def _check_word_times(transcript) -> list:
    """Words must come with times, in order, inside the clip."""
    words = [w for s in transcript.segments for w in s.words]
    if not words:
        raise SelfTestFailure("the transcript has no word timings (word alignment did not run).")
    starts = [w.start_ms for w in words]
    end = transcript.duration_ms or max(w.end_ms for w in words)
    if starts != sorted(starts) or any(w.end_ms < w.start_ms or w.end_ms > end + 1000 for w in words):
        raise SelfTestFailure(f"the word timings are out of order or outside the clip: {words[:5]}")
    return words


def _runtime_description() -> str:
    where = "app bundle" if is_frozen() else "from source"
    return f"{where}, Python {platform.python_version()}, {platform.system()} {platform.machine()}"


def _mlx_description() -> str:
    import mlx.core as mx

    from stenogram.core.mlx_runtime import openblas_path
    from stenogram.core.whisper_runtime import uses_gpu

    text = f"MLX {getattr(mx, '__version__', '?')} on {mx.default_device()}"
    if sys.platform.startswith("linux"):
        blas = openblas_path()
        text += f", BLAS: {blas}" if blas else ", BLAS: MLX's reference BLAS (slow; OpenBLAS not found)"
    if not uses_gpu():
        text += f", decoder: {_decoder_weights()}"
    return text


def _decoder_weights() -> str:
    """Which products the CPU decoder runs (our fp16 kernel and its instructions, or numpy's),
    and whether its attention runs in C (``vector_kernels``, AVX-512) or numpy."""
    from stenogram.core import half_matrix, vector_kernels

    isa = half_matrix.best_isa()
    attention = "C attention" if vector_kernels.available() else "numpy attention"
    if isa:
        return f"fp16 weights, {'AVX-512' if isa == 2 else 'AVX2'} kernel, {attention}"
    return f"fp32 weights, numpy (the fp16 kernel is not built here, or the CPU lacks AVX2), {attention}"


def _say(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()
