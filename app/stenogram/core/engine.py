"""The transcription engine: media in, a Transcript out, with progress and cancel.

``Transcriber`` keeps the loaded model warm between jobs. Each job decodes the media, skips
non-speech with the VAD (optional), computes log-Mel features in bounded memory, runs
Whisper's long-form loop on MLX, maps times back to the recording, and applies the guards
of ``quality``. Nothing here knows about Qt.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from stenogram.core.encoder_input import FILE_FIT_MARGIN_FRAMES, FIT_MARGIN_FRAMES, encoder_frames
from stenogram.core.log_mel import FRAMES_PER_SECOND, N_FRAMES, SAMPLE_RATE, log_mel_features
from stenogram.core.quality import (
    QualityThresholds,
    clamp_words,
    cut_phrase_loop,
    cut_segment_loops,
    flags_for,
)
from stenogram.core.speech_input import prepare_speech
from stenogram.core.speech_map import SpeechMap
from stenogram.core.transcript import Segment, Transcript, Word, utc_now
from stenogram.core.whisper_runtime import DecodeCancelled, WhisperRuntime

DEFAULT_MODEL = "tiny.en"
AUTO_BATCH_SIZE = 8  # windows decoded at once (greedy: decoder rows per step); see bench/RESULTS.md
# Cross-attention keys and values of all rows of a batch: tiny.en 6 windows, base 3; a 1-hour
# file then peaks at 729 / 786 MiB (bench/RESULTS.md; 160 MB took base to 985 MiB before the
# decoder's weights went to fp16).
BATCH_MEMORY_BYTES = 120 * 2**20
SPEAKER_SHARE = 0.15  # of the progress bar, for labelling speakers after transcription
# On a Metal GPU a beam of five costs little over greedy; on a CPU greedy is the default
# (see bench/RESULTS.md for the measurements behind this choice).
AUTO_BEAM_SIZE = 5
TASKS = ("transcribe", "translate")

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class TranscribeOptions:
    # Which model: an installed model's name, or a model folder.
    model: str = DEFAULT_MODEL
    # Language and task: None detects the language from the first 30 s of speech.
    language: str | None = None
    task: str = "transcribe"  # or "translate" (to English)
    # Decoding: greedy at temperature 0, falling back to higher temperatures on failure.
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    best_of: int | None = 5  # samples drawn at each warmer temperature, the likeliest kept
    beam_size: int | None = None  # None: greedy on a CPU, AUTO_BEAM_SIZE on a Metal GPU
    patience: float | None = None  # beam search: keep looking until beam*patience finished
    length_penalty: float | None = None  # None ranks by average log-probability per token
    initial_prompt: str | None = None  # vocabulary or style hints for the first window
    condition_on_previous_text: bool = True
    # Failure thresholds, as in Whisper: repetitive, unlikely, or silent windows.
    compression_ratio_threshold: float | None = 2.4
    logprob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    # Output and speed.
    word_timestamps: bool = False
    vad: bool = True  # skip stretches without speech (faster, and no text invented there)
    # Windows decoded at once (VAD only): None picks; 1 is Whisper's loop, each window
    # prompted with the text before it; more decodes independent windows as one batch.
    batch_size: int | None = None
    # Encode only the audio of a window shorter than 30 s (plus a margin) instead of the
    # padded 30 s: less encoder work for short inputs (encoder_input). True: a 2 s margin,
    # for dictation and live mode. None, the engine's choice: on with VAD on a CPU, where the
    # encoder is most of a short file's time, with an 8 s margin that kept the full
    # window's WER (greedy and beam 5, tiny.en and base, shared clips); off on a GPU and
    # without VAD, whose text then matches Whisper's.
    fit_encoder_input: bool | None = None
    # Who spoke when: label speakers (needs word times, which it turns on).
    speakers: bool = False
    num_speakers: int | None = None  # None counts them

    def to_dict(self) -> dict:
        return asdict(self)


class EngineError(Exception):
    """A job cannot run; ``user_message`` says why in a sentence."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class TranscriptionCancelled(Exception):
    """The job was cancelled by its caller."""


@dataclass
class _Monotonic:
    """Reports progress that only moves forward, ending at exactly 1.0."""

    callback: ProgressCallback | None
    last: float = field(default=-1.0)

    def __call__(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if self.callback is not None and fraction > self.last:
            self.last = fraction
            self.callback(fraction)


class Transcriber:
    """Runs transcription jobs one at a time, keeping the last model loaded."""

    def __init__(self, thresholds: QualityThresholds | None = None) -> None:
        self._runtime: WhisperRuntime | None = None
        self._runtime_path: Path | None = None
        self._lock = threading.Lock()
        self.thresholds = thresholds or QualityThresholds()

    def load(self, model: str) -> WhisperRuntime:
        """The model, loaded once and kept warm until another model is asked for."""
        path = resolve_model_path(model)
        if self._runtime is None or self._runtime_path != path:
            self._runtime = None  # free the old model before loading the new one
            self._runtime = WhisperRuntime(path)
            self._runtime_path = path
        return self._runtime

    def warm_up(self, model: str, *, word_timestamps: bool = True) -> None:
        """Load the model and pay every first-use cost now, before anyone waits for a result.

        MLX compiles its kernels on first use, and where our C time warping is not built
        mlx-whisper's word aligner is JIT-compiled by numba on its first call (seconds on a
        CPU); dictation and live mode call this when they start so that the first words come
        back as fast as the rest.
        """
        with self._lock:
            runtime = self.load(model)
            runtime.warm_up(word_timestamps=word_timestamps)

    def unload(self) -> None:
        with self._lock:
            self._runtime = None
            self._runtime_path = None

    def transcribe(
        self,
        media: str | Path | np.ndarray,
        options: TranscribeOptions | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        options = options or TranscribeOptions()
        progress = _Monotonic(on_progress)
        with self._lock:
            try:
                return self._transcribe(media, options, progress, cancel)
            except DecodeCancelled:
                raise TranscriptionCancelled from None

    def _transcribe(
        self,
        media: str | Path | np.ndarray,
        options: TranscribeOptions,
        progress: _Monotonic,
        cancel: threading.Event | None,
    ) -> Transcript:
        progress(0.0)
        _check_options(options)
        heard = prepare_speech(media, vad=options.vad, keep_recording=options.speakers)
        _check_cancel(cancel)
        runtime = self.load(options.model)
        language = _language_for(runtime, options)
        speech_map = heard.speech_map
        transcript = Transcript(
            language=language,
            media_path=heard.media_path,
            model=options.model,
            options=options.to_dict(),
            duration_ms=heard.duration_ms,
        )
        if len(heard.speech) < SAMPLE_RATE // 10:  # under 100 ms of speech: nothing to say
            transcript.language = language or "en"
            progress(1.0)
            return transcript
        mel = log_mel_features(heard.speech, runtime.model.dims.n_mels)
        _check_cancel(cancel)
        starts = speech_map.piece_start_frames() if speech_map else ()
        if language is None:  # heard in the first window as it will be decoded (encoded once)
            language, _ = runtime.detect_language(runtime.encode(_first_encoder_input(runtime, mel, options, starts)))
        transcript.language = language
        runtime.reset_sampling()
        share = SPEAKER_SHARE if options.speakers else 0.0
        raw = _decode(runtime, mel, options, language, _scaled(progress, 0.0, 1.0 - share), cancel, starts)
        segments = [_to_segment(r, speech_map) for r in raw]
        transcript.segments = self._guarded(segments)
        if options.speakers:
            _label_speakers(transcript, heard.recording, options, _scaled(progress, 1.0 - share, 1.0), cancel)
        transcript.modified = utc_now()
        progress(1.0)
        return transcript

    def _guarded(self, segments: list[Segment]) -> list[Segment]:
        t = self.thresholds
        segments = [cut_phrase_loop(s, t.max_phrase_repeats) for s in segments]
        segments = cut_segment_loops(segments, t)
        segments = _without_overlaps(segments)
        return [_with_flags(s, t) for s in segments]


def _batch_size(options: TranscribeOptions, fp16: bool, n_frames: int, dims) -> int:
    """How many windows to decode at once; 1 runs Whisper's sequential, prompted loop.

    Each window of a batch holds its cross-attention keys and values for every decoder layer
    (shared by its beams, when beam searching); the batch is as large as AUTO_BATCH_SIZE
    windows, or as fits BATCH_MEMORY_BYTES.
    """
    if options.batch_size is not None:
        return options.batch_size
    if not options.vad or n_frames <= N_FRAMES:
        return 1  # one window has nothing to batch with
    bytes_per_value = 2 if fp16 else 4
    per_row = dims.n_text_layer * 2 * dims.n_audio_ctx * dims.n_text_state * bytes_per_value
    budget = BATCH_MEMORY_BYTES
    if fp16:  # a Mac's GPU shares the machine's memory, usually many gigabytes of it
        budget = max(budget, _physical_memory() // 32)
    return max(1, min(AUTO_BATCH_SIZE, budget // per_row))


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _scaled(progress: ProgressCallback, low: float, high: float) -> ProgressCallback:
    return lambda fraction: progress(low + (high - low) * fraction)


def _label_speakers(
    transcript: Transcript,
    audio: np.ndarray,
    options: TranscribeOptions,
    progress: ProgressCallback,
    cancel: threading.Event | None,
) -> None:
    """Diarize the recording and put speaker labels on words and segments."""
    from stenogram.core.speaker_errors import DiarizationCancelled, DiarizationError
    from stenogram.core.speakers import DiarizationOptions, assign_speakers, diarize

    try:
        turns = diarize(
            audio, DiarizationOptions(num_speakers=options.num_speakers), progress, cancel
        )
    except DiarizationCancelled:
        raise TranscriptionCancelled from None
    except DiarizationError as error:
        raise EngineError(getattr(error, "user_message", None) or str(error)) from error
    transcript.segments = assign_speakers(transcript, turns).segments


def resolve_model_path(model: str) -> Path:
    """A model folder from an installed model's name or a path; EngineError when neither."""
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate
    from stenogram.core.model_errors import ModelError
    from stenogram.core.models import ModelStore

    try:
        return ModelStore().resolve(model)
    except ModelError as error:
        raise EngineError(str(error)) from error


def _check_options(options: TranscribeOptions) -> None:
    if options.task not in TASKS:
        raise EngineError(f"Unknown task “{options.task}”: use transcribe or translate.")
    if not options.temperatures:
        raise EngineError("At least one decoding temperature is needed.")
    if options.beam_size is not None and not 1 <= options.beam_size <= 16:
        raise EngineError("The beam size must be between 1 and 16.")
    if options.batch_size is not None and not 1 <= options.batch_size <= 64:
        raise EngineError("The batch size must be between 1 and 64.")
    if options.num_speakers is not None and options.num_speakers < 1:
        raise EngineError("The number of speakers must be at least 1.")
    if options.length_penalty is not None and not 0 <= options.length_penalty <= 1:
        raise EngineError("The length penalty must be between 0 and 1.")


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise TranscriptionCancelled


def _language_for(runtime: WhisperRuntime, options: TranscribeOptions) -> str | None:
    from mlx_whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

    language = options.language
    if language is not None:
        language = TO_LANGUAGE_CODE.get(language.lower(), language.lower())
        if language not in LANGUAGES:
            raise EngineError(f"Whisper does not know the language “{options.language}”.")
    if not runtime.is_multilingual:
        if language not in (None, "en"):
            raise EngineError(
                f"The model “{options.model}” understands English only; "
                "choose a multilingual model for other languages."
            )
        if options.task == "translate":
            raise EngineError(
                f"The model “{options.model}” is English-only and cannot translate; "
                "choose a multilingual model."
            )
        return "en"
    return language


def _decode(
    runtime: WhisperRuntime,
    mel,
    options: TranscribeOptions,
    language: str,
    progress: ProgressCallback,
    cancel: threading.Event | None,
    speech_starts: tuple[int, ...] = (),
):
    from mlx_whisper.decoding import DecodingOptions

    from stenogram.core.window_decoder import LoopSettings, decode_windows

    beam_size = _beam_size(options, runtime)
    base = DecodingOptions(
        task=options.task,
        language=language,
        fp16=runtime.fp16,
        beam_size=beam_size if beam_size and beam_size > 1 else None,
        patience=options.patience if beam_size and beam_size > 1 else None,
        length_penalty=options.length_penalty,
        best_of=options.best_of,  # read at warmer temperatures only (decode_with_fallback)
    )
    settings = LoopSettings(
        temperatures=tuple(options.temperatures),
        compression_ratio_threshold=options.compression_ratio_threshold,
        logprob_threshold=options.logprob_threshold,
        no_speech_threshold=options.no_speech_threshold,
        condition_on_previous_text=options.condition_on_previous_text,
        word_timestamps=options.word_timestamps or options.speakers,
        initial_prompt=options.initial_prompt,
        fit_margin_frames=_fit_margin_frames(options, runtime),
    )
    total = max(1, mel.n_frames)
    batch_size = _batch_size(options, runtime.fp16, mel.n_frames, runtime.model.dims)
    if batch_size > 1 and speech_starts:
        if base.beam_size:  # beams: Whisper's own loop, in lanes (as accurate, as fast)
            from stenogram.core.window_lanes import decode_in_lanes as decode_in_parallel
        else:  # greedy: independent windows, exactly as each alone
            from stenogram.core.window_batches import decode_in_batches as decode_in_parallel

        return decode_in_parallel(
            runtime,
            mel,
            base,
            settings,
            speech_starts,
            batch_size,
            on_window=lambda done: progress(0.999 * done / total),
            cancel=cancel,
        )
    return decode_windows(
        runtime,
        mel,
        base,
        settings,
        on_window=lambda done: progress(0.999 * done / total),
        cancel=cancel,
        speech_starts=speech_starts,
    )


def _beam_size(options: TranscribeOptions, runtime: WhisperRuntime) -> int | None:
    if options.beam_size is None and runtime.fp16:  # fp16 means a Metal GPU
        return AUTO_BEAM_SIZE
    return options.beam_size


def _first_encoder_input(runtime: WhisperRuntime, mel, options: TranscribeOptions, starts: tuple[int, ...]):
    """The Mel frames the encoder will read first when decoding: language detection reads
    them too, and the runtime hands the same features to the decode (encoded once)."""
    batch_size = _batch_size(options, runtime.fp16, mel.n_frames, runtime.model.dims)
    if starts and batch_size > 1 and (_beam_size(options, runtime) or 1) > 1:
        from stenogram.core.window_lanes import plan_lanes

        first_lane_end = plan_lanes(starts, mel.n_frames, batch_size)[0][1]
        return mel.window(0, min(N_FRAMES, first_lane_end))
    if starts and batch_size > 1:
        from stenogram.core.window_batches import plan_windows

        first = plan_windows(starts, mel.n_frames)[0]
        return mel.window(first.start, first.size)
    size = min(N_FRAMES, mel.n_frames)
    return mel.window(0, size)[: encoder_frames(size, _fit_margin_frames(options, runtime))]


def _fit_margin_frames(options: TranscribeOptions, runtime: WhisperRuntime) -> int | None:
    """The padding a fitted encoder input keeps, in frames; None reads whole windows."""
    if options.fit_encoder_input is not None:
        return FIT_MARGIN_FRAMES if options.fit_encoder_input else None
    if options.vad and not runtime.fp16:  # fp16 means a Metal GPU
        return FILE_FIT_MARGIN_FRAMES
    return None


def _ms(seconds: float, speech_map: SpeechMap | None) -> int:
    if speech_map is not None:
        seconds = speech_map.to_original_s(seconds)
    return max(0, round(seconds * 1000))


def _to_segment(raw, speech_map: SpeechMap | None) -> Segment:
    words = tuple(
        Word(
            start_ms=_ms(w["start"], speech_map),
            end_ms=_ms(w["end"], speech_map),
            text=w["word"],
            probability=float(w["probability"]),
        )
        for w in raw.words
    )
    start_ms, end_ms = _ms(raw.start, speech_map), _ms(raw.end, speech_map)
    return Segment(
        start_ms=start_ms,
        end_ms=max(start_ms, end_ms),
        text=raw.text.strip(),
        words=words,
        avg_logprob=raw.avg_logprob,
        no_speech_prob=raw.no_speech_prob,
        compression_ratio=raw.compression_ratio,
    )


def _without_overlaps(segments: list[Segment]) -> list[Segment]:
    """Ordered segments that never overlap, each word inside its own segment."""
    from dataclasses import replace

    out: list[Segment] = []
    floor = 0
    for seg in sorted(segments, key=lambda s: s.start_ms):
        start = max(seg.start_ms, floor)
        end = max(seg.end_ms, start)
        out.append(
            replace(seg, start_ms=start, end_ms=end, words=clamp_words(seg.words, start, end))
        )
        floor = end
    return out


def _with_flags(segment: Segment, thresholds: QualityThresholds) -> Segment:
    from dataclasses import replace

    return replace(segment, flags=flags_for(segment, thresholds))


__all__ = [
    "DEFAULT_MODEL",
    "EngineError",
    "FRAMES_PER_SECOND",
    "TranscribeOptions",
    "Transcriber",
    "TranscriptionCancelled",
]
