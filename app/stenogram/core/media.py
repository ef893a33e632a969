"""Decode any audio or video file PyAV can read into 16 kHz mono float32, in process.

No ffmpeg binary: PyAV's bundled libraries demux and decode; we resample with its
`AudioResampler` (keeping every channel) and average the channels ourselves, because
ffmpeg's downmix weights channels instead of averaging them.

Long files stream in chunks so a 3-hour file never needs several copies of itself in memory.
Damaged files give what is valid plus a `DecodeReport` of what was lost; everything else that
goes wrong raises a `MediaError` subclass with a sentence for the user.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from stenogram.core.media_errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaUnreadableError,
    MediaVanishedError,
    NoAudioStreamError,
    NotMediaError,
)
from stenogram.core.media_files import SUPPORTED_EXTENSIONS, find_media, is_supported_media

__all__ = [
    "SAMPLE_RATE",
    "SUPPORTED_EXTENSIONS",
    "CorruptMediaError",
    "DecodeReport",
    "EmptyMediaError",
    "MediaError",
    "MediaInfo",
    "MediaUnreadableError",
    "MediaVanishedError",
    "NoAudioStreamError",
    "NotMediaError",
    "find_media",
    "is_supported_media",
    "load_audio",
    "probe",
    "stream_audio",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # Hz: what Whisper expects
GAP_TOLERANCE_S = 0.05  # timestamp jumps shorter than this are codec jitter, not lost audio
MAX_DEMUX_ERRORS = 50  # consecutive unreadable packets before we give up on the rest of a file
TAIL_TOLERANCE_MS = 250  # a decoded length this close to the probed one counts as complete
DEFAULT_CHUNK_S = 30.0  # seconds per streamed chunk: one Whisper window
UNKNOWN_LENGTH_GUESS_S = 600  # first allocation when a file does not say how long it is
MAX_PREALLOCATE_S = 6 * 3600  # never trust a header for more than this up front; grow instead

# Demuxers that open images or text: a file they claim is not media to us.
_NOT_MEDIA_FORMATS = frozenset({"tty", "image2", "gif", "apng", "webp", "ico", "svg"})


@dataclass(frozen=True)
class MediaInfo:
    """What a file holds, read from container and stream headers (no full decode)."""

    path: Path
    duration_ms: int  # of the audio track when there is one, else of the container
    has_audio: bool
    has_video: bool
    channels: int  # of the chosen audio stream; 0 without audio
    sample_rate: int  # Hz of the chosen audio stream; 0 without audio
    codec: str | None  # audio codec name, e.g. "aac"; None without audio
    container_format: str  # demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    audio_streams: int
    video_size: tuple[int, int] | None  # (width, height) of the first real video stream
    size_bytes: int
    duration_from_scan: bool = False  # True when headers gave no length and we scanned packets


@dataclass
class DecodeReport:
    """Filled in while decoding: how much came out and what was lost. Pass one to
    `stream_audio`/`load_audio` and read it afterwards."""

    path: Path | None = None
    expected_ms: int = 0  # from the probe; 0 when unknown
    decoded_ms: int = 0  # audio actually produced (includes silence put in for gaps)
    lost_ms: int = 0  # damaged stretches, filled with silence, plus a missing tail
    lost_ranges: list[tuple[int, int]] = field(default_factory=list)  # (start_ms, end_ms)
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.lost_ms == 0 and not self.warnings

    @property
    def user_message(self) -> str:
        """One sentence for the user; empty when nothing was lost."""
        if self.complete:
            return ""
        name = self.path.name if self.path else "the file"
        if self.lost_ms:
            where = ""
            if self.lost_ranges:
                where = f", starting at {_clock(self.lost_ranges[0][0])}"
            return (
                f"Part of “{name}” is damaged: about {self.lost_ms / 1000:.1f} s of audio "
                f"could not be decoded{where}."
            )
        return f"“{name}” decoded with warnings: {self.warnings[0]}"

    def _lose(self, start_ms: int, end_ms: int, why: str) -> None:
        if end_ms <= start_ms:
            return
        self.lost_ms += end_ms - start_ms
        self.lost_ranges.append((start_ms, end_ms))
        self.warnings.append(
            f"{why} at {_clock(start_ms)} ({(end_ms - start_ms) / 1000:.2f} s lost)"
        )


def _clock(ms: int) -> str:
    s = ms // 1000
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def _check_path(path: Path) -> os.stat_result:
    """Raise a typed error for paths we must not hand to ffmpeg (missing, folder, FIFO:
    opening a FIFO would block forever)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise MediaUnreadableError(path, f"“{path}” does not exist.") from None
    except OSError as e:
        raise MediaUnreadableError(
            path, f"“{path}” cannot be read: {e.strerror}.", str(e)
        ) from None
    if path.is_dir():
        raise MediaUnreadableError(path, f"“{path}” is a folder, not a media file.")
    if not path.is_file():
        raise MediaUnreadableError(path, f"“{path.name}” is not a regular file.")
    if not os.access(path, os.R_OK):
        raise MediaUnreadableError(path, f"You do not have permission to read “{path.name}”.")
    if st.st_size == 0:
        raise EmptyMediaError(path, f"“{path.name}” is empty (0 bytes).")
    return st


def _open(path: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (PermissionError, av.error.PermissionError) as e:
        raise MediaUnreadableError(
            path, f"You do not have permission to read “{path.name}”.", str(e)
        ) from None
    except (FileNotFoundError, av.error.FileNotFoundError) as e:
        raise MediaUnreadableError(path, f"“{path}” does not exist.", str(e)) from None
    except av.error.FFmpegError as e:
        if is_supported_media(path):
            raise CorruptMediaError(
                path,
                f"“{path.name}” looks like a media file but is damaged or incomplete and cannot be opened.",
                str(e),
            ) from None
        raise NotMediaError(path, f"“{path.name}” is not an audio or video file.", str(e)) from None
    except OSError as e:
        raise MediaUnreadableError(
            path, f"“{path.name}” cannot be read: {e.strerror or e}.", str(e)
        ) from None
    fmt = container.format.name
    if fmt in _NOT_MEDIA_FORMATS or fmt.endswith("_pipe") or not container.streams:
        container.close()
        raise NotMediaError(path, f"“{path.name}” is not an audio or video file.", f"demuxer {fmt}")
    return container


def _real_video_streams(
    container: av.container.InputContainer,
) -> list[av.video.stream.VideoStream]:
    """Video streams that are not cover art (an mp3's embedded picture shows up as video)."""
    return [
        s
        for s in container.streams.video
        if not (s.disposition & av.stream.Disposition.attached_pic)
    ]


def _pick_audio(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    if not container.streams.audio:
        return None
    try:
        return container.streams.best("audio") or container.streams.audio[0]
    except Exception:  # best() is a thin wrapper over av_find_best_stream; never fatal
        return container.streams.audio[0]


def _stream_seconds(stream: av.stream.Stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _scan_seconds(container: av.container.InputContainer, stream: av.stream.Stream) -> float:
    """Length from packet timestamps when headers say nothing: demux only, no decoding."""
    end = 0.0
    tb = stream.time_base or Fraction(1, 1)
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            dur = packet.duration or 0
            end = max(end, float((packet.pts + dur) * tb))
    except av.error.FFmpegError:
        pass  # a damaged tail: the length up to the damage is the best answer
    start = float(stream.start_time * tb) if stream.start_time is not None else 0.0
    return max(0.0, end - start)


def probe(path: str | Path) -> MediaInfo:
    """Read what a file holds from its headers. Raises MediaError subclasses for paths that
    are not media; a media file without sound is *not* an error here (`has_audio=False`)."""
    path = Path(path)
    st = _check_path(path)
    container = _open(path)
    try:
        audio = _pick_audio(container)
        videos = _real_video_streams(container)
        seconds = _stream_seconds(audio) if audio is not None else None
        if seconds is None and container.duration is not None and container.duration > 0:
            seconds = container.duration / av.time_base
        scanned = False
        if seconds is None:
            target = audio if audio is not None else (videos[0] if videos else None)
            seconds = _scan_seconds(container, target) if target is not None else 0.0
            scanned = True
        video_size = None
        if videos and videos[0].codec_context.width:
            video_size = (videos[0].codec_context.width, videos[0].codec_context.height)
        return MediaInfo(
            path=path,
            duration_ms=round(seconds * 1000),
            has_audio=audio is not None,
            has_video=bool(videos),
            channels=audio.codec_context.channels if audio is not None else 0,
            sample_rate=audio.codec_context.sample_rate if audio is not None else 0,
            codec=audio.codec_context.name if audio is not None else None,
            container_format=container.format.name,
            audio_streams=len(container.streams.audio),
            video_size=video_size,
            size_bytes=st.st_size,
            duration_from_scan=scanned,
        )
    finally:
        container.close()


# ---------------------------------------------------------------- decoding


class _Decoder:
    """One pass over the chosen audio stream, yielding 16 kHz mono float32 pieces of any size.

    Tracks each frame's timestamp so that audio the decoder drops (damaged packets) is
    replaced by silence of the same length: later words keep their true times."""

    def __init__(self, path: Path, start_ms: int, report: DecodeReport) -> None:
        self.path = path
        self.report = report
        self.stat = _check_path(path)
        self.container = _open(path)
        self.stream = _pick_audio(self.container)
        if self.stream is None:
            self.container.close()
            raise NoAudioStreamError(path, f"“{path.name}” has no sound track to transcribe.")
        self.stream.thread_type = "AUTO"  # frame threads where the codec allows; harmless otherwise
        self.tb = self.stream.time_base or Fraction(1, self.stream.codec_context.sample_rate or 1)
        start = self.container.start_time
        self.origin_s = start / av.time_base if start is not None else 0.0
        self.start_s = max(0, start_ms) / 1000
        self.expected_in_s = self.start_s  # where the next input frame should begin
        self.drop = 0  # output samples to discard before `start_ms` after a seek
        self.first = True
        self.resampler: av.AudioResampler | None = None
        self.resampler_key: tuple[str, str, int] | None = None
        self.produced = 0  # output samples yielded, including inserted silence
        if self.start_s > 0:
            self._seek()

    def _seek(self) -> None:
        target = int((self.start_s + self.origin_s) / self.tb)
        try:
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError as e:
            # Unseekable files decode from the start; the timestamp logic drops what lies before start_ms.
            log.info("seek failed in %s: %s", self.path, e)

    def close(self) -> None:
        self.container.close()

    # -- the stream of pieces

    def pieces(self) -> Iterator[np.ndarray]:
        for frame in self._frames():
            yield from self._feed(frame)
        yield from self._flush()

    def _frames(self) -> Iterator[av.AudioFrame]:
        errors = 0
        while True:
            demuxer = self.container.demux(self.stream)
            try:
                for packet in demuxer:
                    errors = 0
                    try:
                        frames = packet.decode()
                    except av.error.FFmpegError as e:
                        # A damaged packet: skip it; the timestamp gap it leaves becomes silence.
                        log.debug("decode error in %s: %s", self.path, e)
                        continue
                    yield from frames
                return
            except av.error.FFmpegError as e:
                if self._vanished():
                    raise self._vanished_error(str(e)) from None
                errors += 1
                if errors >= MAX_DEMUX_ERRORS:
                    self.report.warnings.append(f"stopped reading after repeated errors: {e}")
                    return
            except OSError as e:  # the disk went away under us
                raise self._vanished_error(str(e)) from None

    def _frame_seconds(self, frame: av.AudioFrame) -> float | None:
        if frame.pts is None:
            return None
        return float(frame.pts * self.tb) - self.origin_s

    def _feed(self, frame: av.AudioFrame) -> Iterator[np.ndarray]:
        pts_s = self._frame_seconds(frame)
        rate = frame.sample_rate or self.stream.codec_context.sample_rate
        if pts_s is not None:
            gap = pts_s - self.expected_in_s
            if self.first and gap < 0 and self.start_s > 0:
                self.drop = round(-gap * SAMPLE_RATE)  # seeked to a packet before start_ms
            elif gap > GAP_TOLERANCE_S and self._plausible(pts_s):
                yield from self._flush()
                n = round(gap * SAMPLE_RATE)
                if not self.first:  # a late first frame is leading silence, not damage
                    here = self._out_ms()
                    self.report._lose(here, here + round(gap * 1000), "damaged or missing audio")
                yield from self._emit(np.zeros(n, dtype=np.float32))
            self.expected_in_s = pts_s + frame.samples / rate
        else:
            self.expected_in_s += frame.samples / rate
        self.first = False
        key = (frame.format.name, frame.layout.name, rate)
        if key != self.resampler_key:
            yield from self._flush()  # the stream changed layout or rate mid-way (it happens in ADTS, mp3)
            self.resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=SAMPLE_RATE)
            self.resampler_key = key
        assert self.resampler is not None
        for out in self.resampler.resample(frame):
            yield from self._emit(_average_channels(out))

    def _plausible(self, pts_s: float) -> bool:
        """A timestamp far past the file's length is a broken timestamp, not a gap to fill."""
        expected = self.report.expected_ms / 1000
        return expected <= 0 or pts_s <= expected + 1.0

    def _flush(self) -> Iterator[np.ndarray]:
        if self.resampler is None:
            return
        for out in self.resampler.resample(None):
            yield from self._emit(_average_channels(out))
        self.resampler = None
        self.resampler_key = None

    def _emit(self, samples: np.ndarray) -> Iterator[np.ndarray]:
        if self.drop:
            cut = min(self.drop, len(samples))
            samples = samples[cut:]
            self.drop -= cut
        if len(samples):
            self.produced += len(samples)
            yield samples

    def _out_ms(self) -> int:
        return round(self.start_s * 1000 + self.produced * 1000 / SAMPLE_RATE)

    # -- the file changing under us

    def _vanished(self) -> bool:
        try:
            st = self.path.stat()
        except OSError:
            return True
        return st.st_size < self.stat.st_size or st.st_ino != self.stat.st_ino

    def _vanished_error(self, detail: str = "") -> MediaVanishedError:
        return MediaVanishedError(
            self.path,
            f"“{self.path.name}” was moved, deleted or changed while it was being read.",
            detail,
            decoded_ms=self._out_ms(),
        )

    def check_still_there(self) -> None:
        if self._vanished():
            raise self._vanished_error()


def _average_channels(frame: av.AudioFrame) -> np.ndarray:
    """Planar float frame -> mono by a plain mean (ffmpeg's downmix weights channels)."""
    planes = frame.to_ndarray()  # (channels, samples) float32 for fltp
    if planes.shape[0] == 1:
        return planes[0].astype(np.float32, copy=True)
    return planes.mean(axis=0, dtype=np.float32)


def _finish(decoder: _Decoder, path: Path, strict: bool) -> None:
    """End-of-file checks shared by streaming and whole-file loading."""
    report = decoder.report
    decoder.check_still_there()
    report.decoded_ms = decoder._out_ms() - round(decoder.start_s * 1000)
    if decoder.produced == 0:
        if report.expected_ms > 0 or report.warnings:
            raise CorruptMediaError(
                path,
                f"“{path.name}” is damaged: none of its audio could be decoded.",
                report=report,
            )
        raise EmptyMediaError(path, f"“{path.name}” contains no audio (its length is zero).")
    end_ms = decoder._out_ms()
    if report.expected_ms and report.expected_ms - end_ms > TAIL_TOLERANCE_MS:
        report._lose(end_ms, report.expected_ms, "the file ends early (truncated)")
    if strict and not report.complete:
        raise CorruptMediaError(path, report.user_message, report=report)
    if not report.complete:
        log.warning("%s", report.user_message)


def _begin(path: Path, report: DecodeReport | None) -> tuple[DecodeReport, MediaInfo]:
    """Probe before decoding: refuse a file without sound, and start the loss report."""
    report = report if report is not None else DecodeReport()
    info = probe(path)
    if not info.has_audio:
        raise NoAudioStreamError(path, f"“{path.name}” has no sound track to transcribe.")
    report.path = path
    report.expected_ms = info.duration_ms
    return report, info


def stream_audio(
    path: str | Path,
    chunk_seconds: float = DEFAULT_CHUNK_S,
    start_ms: int = 0,
    *,
    report: DecodeReport | None = None,
    strict: bool = False,
) -> Iterator[np.ndarray]:
    """Yield 16 kHz mono float32 chunks of `chunk_seconds` (the last may be shorter).

    Opening errors (missing file, not media, no sound) raise here, before iteration.
    Damaged stretches come out as silence of the right length and are listed in `report`;
    with `strict=True` any loss raises CorruptMediaError at the end instead. A file with
    no decodable audio raises CorruptMediaError; one that changes on disk while being read
    raises MediaVanishedError."""
    path = Path(path)
    if chunk_seconds <= 0:
        raise ValueError("chunk_seconds must be positive")
    report, _info = _begin(path, report)
    decoder = _Decoder(path, start_ms, report)
    return _chunks(decoder, path, max(1, round(chunk_seconds * SAMPLE_RATE)), strict)


def _chunks(decoder: _Decoder, path: Path, chunk: int, strict: bool) -> Iterator[np.ndarray]:
    try:
        pending: list[np.ndarray] = []
        have = 0
        for piece in decoder.pieces():
            pending.append(piece)
            have += len(piece)
            while have >= chunk:
                joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
                yield joined[:chunk]
                rest = joined[chunk:]
                pending, have = ([rest] if len(rest) else []), len(rest)
                decoder.check_still_there()
        _finish(decoder, path, strict)
        if have:
            yield np.concatenate(pending) if len(pending) > 1 else pending[0]
    finally:
        decoder.close()


def load_audio(
    path: str | Path, *, report: DecodeReport | None = None, strict: bool = False
) -> np.ndarray:
    """The whole sound track as 16 kHz mono float32. Peak memory stays near one copy of the
    result: the buffer is sized from the probed length and grown in place if needed.
    Errors and `report`/`strict` behave as in `stream_audio`."""
    path = Path(path)
    report, info = _begin(path, report)
    seconds = info.duration_ms / 1000 + 1.0 if info.duration_ms else UNKNOWN_LENGTH_GUESS_S
    buf = np.empty(int(min(seconds, MAX_PREALLOCATE_S) * SAMPLE_RATE), dtype=np.float32)
    n = 0
    decoder = _Decoder(path, 0, report)
    try:
        for piece in decoder.pieces():
            if n + len(piece) > len(buf):
                # resize() reallocates in place where it can, unlike concatenate
                buf.resize(max(n + len(piece), int(len(buf) * 1.5)), refcheck=False)
            buf[n : n + len(piece)] = piece
            n += len(piece)
        _finish(decoder, path, strict)
    finally:
        decoder.close()
    buf.resize(n, refcheck=False)
    return buf
