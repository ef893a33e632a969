"""The engines the benchmark compares, each behind the same two calls: load, then run.

Every engine is imported lazily and only inside its own worker process, so that what one
engine preloads (OpenBLAS) or caches (mlx_whisper's ModelHolder) cannot affect another.
All of them decode greedily at temperature 0 with Whisper's usual fallback, condition on
previous text, auto-detect the language, and produce no word timestamps, unless the row's
name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class ModelPaths:
    """The same weights in the layouts each engine reads."""

    mlx: Path  # our converted MLX folder (config.json has alignment_heads, model_type)
    mlx_plain: Path  # the same weights, config.json without the keys mlx_whisper rejects
    ct2: Path  # the original CTranslate2 folder


@dataclass(frozen=True)
class EngineSpec:
    name: str
    description: str
    warm_up: bool = True  # run the shortest clip once before timing


class Engine(Protocol):
    def load(self, paths: ModelPaths) -> None: ...

    def run(
        self, media: np.ndarray | Path, stop_after: float | None = None
    ) -> tuple[str, str | None]:
        """(text, detected language); ``stop_after`` ends the job at that fraction of the
        audio (memory probes of very long files), where the engine can stop early."""
        ...


ENGINES: dict[str, EngineSpec] = {
    s.name: s
    for s in (
        EngineSpec(
            "mlx-defaults",
            "plain mlx_whisper.transcribe, its defaults (fp16), no OpenBLAS preload",
            warm_up=False,  # about 25 s a window: warming up would double its cost
        ),
        EngineSpec("mlx-fp32", "plain mlx_whisper.transcribe, fp16=False, OpenBLAS preloaded"),
        EngineSpec("ours", "stenogram Transcriber, defaults (VAD on), fp32 + OpenBLAS"),
        EngineSpec("ours-novad", "stenogram Transcriber, vad=False"),
        EngineSpec("ours-beam5", "stenogram Transcriber, beam_size=5 (when the engine has it)"),
        EngineSpec("fw-int8", "faster-whisper int8, beam 1, cpu_threads=2"),
        EngineSpec("fw-fp32", "faster-whisper float32, beam 1, cpu_threads=2"),
        EngineSpec("fw-int8-beam5", "faster-whisper int8, beam 5, cpu_threads=2"),
        EngineSpec(
            "fw-batched",
            "faster-whisper BatchedInferencePipeline int8, beam 1, batch 8, its VAD on",
        ),
    )
}
DEFAULT_ENGINES = (
    "mlx-defaults",
    "mlx-fp32",
    "ours",
    "ours-novad",
    "ours-beam5",
    "fw-int8",
    "fw-fp32",
    "fw-int8-beam5",
    "fw-batched",
)
FW_THREADS = 2  # this machine's cores


def make_engine(name: str) -> Engine:
    if name.startswith("mlx-"):
        return PlainMlx(fp16=name == "mlx-defaults")
    if name.startswith("ours"):
        return Ours(vad=name != "ours-novad", beam_size=5 if name == "ours-beam5" else None)
    if name.startswith("fw-"):
        return FasterWhisper(
            compute_type="float32" if name == "fw-fp32" else "int8",
            beam_size=5 if name.endswith("beam5") else 1,
            batched=name == "fw-batched",
        )
    raise SystemExit(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")


def our_engine_supports_beam() -> bool:
    from stenogram.core.engine import TranscribeOptions

    return any(f.name == "beam_size" for f in fields(TranscribeOptions))


class PlainMlx:
    """mlx_whisper as a user would call it; fp16 (its default) or fp32 with OpenBLAS."""

    def __init__(self, fp16: bool) -> None:
        self.fp16 = fp16
        self._path = ""

    def load(self, paths: ModelPaths) -> None:
        if not self.fp16:
            from stenogram.core.mlx_runtime import ensure_mlx

            ensure_mlx()  # OpenBLAS before mlx is imported
        import mlx.core as mx
        from mlx_whisper.transcribe import ModelHolder

        self._path = str(paths.mlx_plain)
        # transcribe() would load on first call; loading here times it separately.
        ModelHolder.get_model(self._path, mx.float16 if self.fp16 else mx.float32)

    def run(
        self, media: np.ndarray | Path, stop_after: float | None = None
    ) -> tuple[str, str | None]:
        import mlx_whisper

        result = mlx_whisper.transcribe(media, path_or_hf_repo=self._path, fp16=self.fp16)
        return result["text"], result.get("language")


class Ours:
    def __init__(self, vad: bool, beam_size: int | None) -> None:
        self.vad = vad
        self.beam_size = beam_size
        self._options: Any = None
        self._transcriber: Any = None

    def load(self, paths: ModelPaths) -> None:
        from stenogram.core.engine import TranscribeOptions, Transcriber

        extra = {}
        if self.beam_size is not None:
            if not our_engine_supports_beam():
                raise SystemExit("SKIP: TranscribeOptions has no beam_size yet (issue 9)")
            extra["beam_size"] = self.beam_size
        self._options = TranscribeOptions(model=str(paths.mlx), vad=self.vad, **extra)
        self._transcriber = Transcriber()
        self._transcriber.load(self._options.model)

    def run(
        self, media: np.ndarray | Path, stop_after: float | None = None
    ) -> tuple[str, str | None]:
        import threading

        from stenogram.core.engine import TranscriptionCancelled

        cancel = threading.Event()

        def progress(fraction: float) -> None:
            if stop_after is not None and fraction >= stop_after:
                cancel.set()

        try:
            transcript = self._transcriber.transcribe(
                media, self._options, on_progress=progress, cancel=cancel
            )
        except TranscriptionCancelled:
            return "", None
        return " ".join(s.text for s in transcript.segments), transcript.language


class FasterWhisper:
    def __init__(self, compute_type: str, beam_size: int, batched: bool) -> None:
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.batched = batched
        self._model: Any = None

    def load(self, paths: ModelPaths) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        model = WhisperModel(
            str(paths.ct2), device="cpu", compute_type=self.compute_type, cpu_threads=FW_THREADS
        )
        self._model = BatchedInferencePipeline(model) if self.batched else model

    def run(
        self, media: np.ndarray | Path, stop_after: float | None = None
    ) -> tuple[str, str | None]:
        media = str(media) if isinstance(media, Path) else media
        kwargs: dict[str, Any] = {"beam_size": self.beam_size}
        if self.batched:
            kwargs["batch_size"] = 8
        # transcribe() computes the features of the whole file, then the generator decodes
        segments, info = self._model.transcribe(media, **kwargs)
        texts = []
        for segment in segments:
            texts.append(segment.text)
            if stop_after is not None and segment.end >= stop_after * info.duration:
                break
        return "".join(texts), info.language
