"""What the model will hear: the recording decoded, and (with VAD) only its speech, packed.

Long recordings are read twice, as streams, instead of being held whole: once to find the
speech, once to copy it out. Memory then follows the amount of speech, not the file's length,
and that speech is kept as 16-bit PCM (see ``pcm16``): half the memory of float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stenogram.core.log_mel import SAMPLE_RATE
from stenogram.core.pcm16 import to_pcm16
from stenogram.core.speech_map import SpeechMap, pack_speech, pack_speech_streamed, plan_pieces

# Speech regions keep this much audio around them: Whisper needs the soft onsets and a
# breath of context (faster-whisper's default); pauses shorter than the silence stay inside.
VAD_PAD_MS = 400
VAD_MIN_SILENCE_MS = 1000
# Longer stretches of speech are split at their deepest pause, so that decoding windows
# (30 s, the padding included) end between words rather than in the middle of one.
VAD_MAX_SPEECH_S = 28.0
# Silence this short at the start or end of a recording is kept, as pauses this short are
# inside it: cutting it saves nothing, and Whisper hears its usual lead-in. (Cutting the first
# 0.14 s of a LibriSpeech clip turned beam search's "Well now, Ennis, I declare" into "Well,
# now in this eye declare"; the whole clip, as faster-whisper reads it, gives the former.)
EDGE_SILENCE_KEPT_MS = VAD_MIN_SILENCE_MS
STREAM_AFTER_MS = 10 * 60 * 1000  # recordings longer than this are streamed twice
STREAM_CHUNK_S = 30.0


@dataclass
class SpeechInput:
    # 16 kHz mono: the packed speech, or the whole recording; float32, or int16 PCM for a
    # long recording (log_mel reads both)
    speech: np.ndarray
    speech_map: SpeechMap | None  # where the packed speech came from; None without VAD
    duration_ms: int  # of the whole recording
    media_path: str | None
    recording: np.ndarray | None = None  # the whole recording, when it was asked to be kept


def vad_options():
    from stenogram.core.vad import VadOptions

    return VadOptions(
        speech_pad_ms=VAD_PAD_MS, min_silence_ms=VAD_MIN_SILENCE_MS, max_speech_s=VAD_MAX_SPEECH_S
    )


def prepare_speech(media: str | Path | np.ndarray, *, vad: bool, keep_recording: bool = False) -> SpeechInput:
    """Decode ``media`` (a path or 16 kHz samples) and, with ``vad``, keep only its speech."""
    if isinstance(media, np.ndarray):
        audio = np.ascontiguousarray(media, dtype=np.float32).reshape(-1)
        return _from_audio(audio, None, vad, keep_recording)
    from stenogram.core.media import load_audio, probe

    path = Path(media)
    if vad and not keep_recording and probe(path).duration_ms > STREAM_AFTER_MS:
        return _streamed(path)
    return _from_audio(load_audio(path), str(path), vad, keep_recording)


def _from_audio(audio: np.ndarray, media_path: str | None, vad: bool, keep: bool) -> SpeechInput:
    duration_ms = round(len(audio) * 1000 / SAMPLE_RATE)
    if not vad:
        return SpeechInput(audio, None, duration_ms, media_path, audio if keep else None)
    from stenogram.core.vad import detect_speech

    regions = detect_speech(audio, vad_options())
    speech, speech_map = pack_speech(audio, _with_edges(regions, len(audio)))
    return SpeechInput(speech, speech_map, duration_ms, media_path, audio if keep else None)


def _streamed(path: Path) -> SpeechInput:
    from stenogram.core.media import stream_audio
    from stenogram.core.vad import regions_from_probabilities, stream_speech_probabilities

    probabilities, length = stream_speech_probabilities(stream_audio(path, STREAM_CHUNK_S))
    regions = regions_from_probabilities(probabilities, length, vad_options())
    speech_map = plan_pieces(_with_edges(regions, length), length)
    pcm = (to_pcm16(chunk) for chunk in stream_audio(path, STREAM_CHUNK_S))
    speech = pack_speech_streamed(pcm, speech_map, np.int16)
    return SpeechInput(speech, speech_map, round(length * 1000 / SAMPLE_RATE), str(path))


def _with_edges(regions: list, length: int) -> list[tuple[int, int]]:
    """The regions as (start, end) samples, the first and last reaching the recording's start
    and end when less than EDGE_SILENCE_KEPT_MS of silence lies beyond them."""
    spans = [(r.start, r.end) for r in regions]
    edge = EDGE_SILENCE_KEPT_MS * SAMPLE_RATE // 1000
    if spans and spans[0][0] <= edge:
        spans[0] = (0, spans[0][1])
    if spans and spans[-1][1] >= length - edge:
        spans[-1] = (spans[-1][0], length)
    return spans
