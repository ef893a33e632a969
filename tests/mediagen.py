"""Write real media files at test time with PyAV (no ffmpeg binary, nothing stored in the repo)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# name -> (container format, audio encoder, encoder sample format or None for its first)
AUDIO_FORMATS: dict[str, tuple[str, str, str | None]] = {
    "wav_s16": ("wav", "pcm_s16le", "s16"),
    "wav_s24": ("wav", "pcm_s24le", "s32"),
    "wav_float": ("wav", "pcm_f32le", "flt"),
    "flac_s16": ("flac", "flac", "s16"),
    "flac_s24": ("flac", "flac", "s32"),
    "mp3": ("mp3", "libmp3lame", "fltp"),
    "m4a": ("ipod", "aac", "fltp"),
    "aac_adts": ("adts", "aac", "fltp"),
    "ogg_vorbis": ("ogg", "vorbis", "fltp"),
    "ogg_opus": ("ogg", "libopus", "flt"),
    "mka_alac": ("matroska", "alac", "s16p"),
}
EXTENSIONS = {
    "wav": ".wav", "flac": ".flac", "mp3": ".mp3", "ipod": ".m4a", "adts": ".aac",
    "ogg": ".ogg", "matroska": ".mka", "mp4": ".mp4", "mov": ".mov", "webm": ".webm",
}  # fmt: skip

# name -> (container, video encoder, audio encoder)
VIDEO_FORMATS: dict[str, tuple[str, str, str]] = {
    "mp4": ("mp4", "mpeg4", "aac"),
    "mov": ("mov", "mjpeg", "pcm_s16le"),
    "mkv": ("matroska", "mpeg4", "libopus"),
    "webm": ("webm", "libvpx", "libopus"),
}
VIDEO_EXT = {"mp4": ".mp4", "mov": ".mov", "mkv": ".mkv", "webm": ".webm"}


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def read_native(path: Path) -> tuple[np.ndarray, int]:
    """(channels, samples) float32 and rate, decoded natively (no resampling)."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        parts = []
        for f in c.decode(s):
            a = f.to_ndarray()
            if a.dtype == np.int32:
                a = a.astype(np.float32) / 2**31
            elif a.dtype == np.int16:
                a = a.astype(np.float32) / 2**15
            if not f.format.is_planar:
                a = a.reshape(-1, f.layout.nb_channels).T
            parts.append(a)
        return np.concatenate(parts, axis=1).astype(np.float32), s.rate


def _encode_audio(
    out: av.container.OutputContainer, stream, samples: np.ndarray, rate: int
) -> None:
    """Feed planar float samples (channels, n) through a resampler that matches the encoder."""
    channels = samples.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    cc = stream.codec_context
    resampler = av.AudioResampler(
        format=cc.format.name, layout=layout, rate=rate, frame_size=cc.frame_size or 1024
    )
    step = 4096
    for i in range(0, samples.shape[1], step):
        block = np.ascontiguousarray(samples[:, i : i + step], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = i
        frame.time_base = Fraction(1, rate)
        for f in resampler.resample(frame):
            out.mux(stream.encode(f))
    for f in resampler.resample(None):
        out.mux(stream.encode(f))
    out.mux(stream.encode(None))


def write_audio(path: Path, samples: np.ndarray, rate: int, kind: str) -> Path:
    """Write `samples` ((n,) mono or (channels, n)) as the AUDIO_FORMATS entry `kind`."""
    fmt, codec, sample_fmt = AUDIO_FORMATS[kind]
    samples = np.atleast_2d(samples)
    if codec == "vorbis" and samples.shape[0] == 1:
        samples = np.repeat(samples, 2, axis=0)  # ffmpeg's own vorbis encoder is stereo-only
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if sample_fmt:
            stream.codec_context.format = sample_fmt
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "-2"}
        _encode_audio(out, stream, samples, rate)
    return path


def write_video(
    path: Path, samples: np.ndarray | None, rate: int, kind: str, seconds: float = 1.0
) -> Path:
    """A tiny moving-gray video with an audio track (or none when samples is None)."""
    fmt, vcodec, acodec = VIDEO_FORMATS[kind]
    with av.open(str(path), "w", format=fmt) as out:
        fps = 10
        vs = out.add_stream(vcodec, rate=fps)
        vs.width, vs.height = 64, 48
        vs.pix_fmt = "yuvj420p" if vcodec == "mjpeg" else "yuv420p"
        astream = None
        if samples is not None:
            samples = np.atleast_2d(samples)
            layout = "mono" if samples.shape[0] == 1 else "stereo"
            astream = out.add_stream(acodec, rate=rate, layout=layout)
        n_frames = (
            round(seconds * fps)
            if samples is None
            else max(1, round(samples.shape[1] / rate * fps))
        )
        for i in range(n_frames):
            img = np.full((48, 64, 3), (i * 20) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if astream is not None and samples is not None:
            _encode_audio(out, astream, samples, rate)
    return path
