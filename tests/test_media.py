"""Media decoding on real files written at test time with PyAV, plus the real JFK recording."""

from __future__ import annotations

import os
import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

import mediagen as gen
from stenogram.core.media import (
    SAMPLE_RATE,
    CorruptMediaError,
    DecodeReport,
    EmptyMediaError,
    MediaError,
    MediaUnreadableError,
    MediaVanishedError,
    NoAudioStreamError,
    NotMediaError,
    find_media,
    is_supported_media,
    load_audio,
    probe,
    stream_audio,
)

LEFT_HZ, RIGHT_HZ = 440.0, 1000.0
LEFT_AMP, RIGHT_AMP = 0.6, 0.2


def stereo_tones(seconds: float, rate: int) -> np.ndarray:
    """Left and right differ, so the mono result tells an average from any other downmix."""
    return np.stack(
        [gen.tone(LEFT_HZ, seconds, rate, LEFT_AMP), gen.tone(RIGHT_HZ, seconds, rate, RIGHT_AMP)]
    )


def amplitude_at(x: np.ndarray, hz: float) -> float:
    """Amplitude of a sine at `hz` in 16 kHz audio (skipping codec start-up transients)."""
    x = x[SAMPLE_RATE // 10 : -SAMPLE_RATE // 10]
    t = np.arange(len(x)) / SAMPLE_RATE
    return float(2 * np.abs(np.mean(x * np.exp(-2j * np.pi * hz * t))))


def dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * SAMPLE_RATE / len(x))


def write(tmp_path: Path, kind: str, samples: np.ndarray, rate: int) -> Path:
    fmt = gen.AUDIO_FORMATS[kind][0]
    return gen.write_audio(tmp_path / f"{kind}{gen.EXTENSIONS[fmt]}", samples, rate, kind)


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("kind", list(gen.AUDIO_FORMATS))
def test_every_audio_format_decodes_to_the_channel_average(tmp_path: Path, kind: str) -> None:
    rate = 48000 if "opus" in kind else 44100
    path = write(tmp_path, kind, stereo_tones(2.0, rate), rate)

    info = probe(path)
    assert info.has_audio and not info.has_video
    assert info.channels == 2 and info.sample_rate == rate and info.audio_streams == 1
    assert abs(info.duration_ms - 2000) <= 100  # raw ADTS only estimates its length
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert (
        abs(len(audio) - 2 * SAMPLE_RATE) <= 0.05 * SAMPLE_RATE
    )  # codec padding is at most a few frames
    # The mean of the channels: each tone at half the amplitude the codec kept in its own
    # channel (ffmpeg's downmix would not give this). Native decoding gives those amplitudes.
    native, native_rate = gen.read_native(path)
    for hz, amp in ((LEFT_HZ, LEFT_AMP), (RIGHT_HZ, RIGHT_AMP)):
        kept = [native_amplitude(ch, native_rate, hz) for ch in native]
        assert max(kept) > amp / 3  # the encoder kept the tone
        assert amplitude_at(audio, hz) == pytest.approx(sum(kept) / 2, rel=0.03, abs=0.003)


def native_amplitude(x: np.ndarray, rate: int, hz: float) -> float:
    x = x[rate // 10 : -rate // 10]
    t = np.arange(len(x)) / rate
    return float(2 * np.abs(np.mean(x * np.exp(-2j * np.pi * hz * t))))


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_tone_frequency_and_length_survive_resampling(tmp_path: Path, rate: int) -> None:
    path = write(tmp_path, "wav_s16", gen.tone(1000.0, 1.5, rate), rate)
    info = probe(path)
    assert info.sample_rate == rate and info.channels == 1 and info.duration_ms == 1500
    audio = load_audio(path)
    assert abs(len(audio) - 24000) <= 2
    assert dominant_hz(audio) == pytest.approx(1000.0, abs=2.0)
    assert amplitude_at(audio, 1000.0) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("kind", list(gen.VIDEO_FORMATS))
def test_video_files_give_their_sound_track(tmp_path: Path, kind: str) -> None:
    rate = 48000
    path = gen.write_video(
        tmp_path / f"clip{gen.VIDEO_EXT[kind]}", stereo_tones(1.5, rate), rate, kind
    )
    info = probe(path)
    assert info.has_video and info.has_audio and info.video_size == (64, 48)
    assert abs(info.duration_ms - 1500) <= 100
    audio = load_audio(path)
    assert abs(len(audio) - 1.5 * SAMPLE_RATE) <= 0.05 * SAMPLE_RATE
    assert amplitude_at(audio, LEFT_HZ) == pytest.approx(LEFT_AMP / 2, abs=0.04)
    assert amplitude_at(audio, RIGHT_HZ) == pytest.approx(RIGHT_AMP / 2, abs=0.04)


def test_video_without_sound_probes_but_does_not_decode(tmp_path: Path) -> None:
    path = gen.write_video(tmp_path / "silent.mp4", None, 48000, "mp4", seconds=1.0)
    info = probe(path)
    assert info.has_video and not info.has_audio and info.channels == 0 and info.codec is None
    with pytest.raises(NoAudioStreamError) as err:
        load_audio(path)
    assert "silent.mp4" in err.value.user_message
    with pytest.raises(NoAudioStreamError):
        stream_audio(path)  # raised on the call, before any iteration


def reference_jfk(shared_audio: Path) -> np.ndarray:
    """Independent path: native decode, mean of channels, scipy polyphase resampling."""
    native, rate = gen.read_native(shared_audio / "jfk.flac")
    assert rate == 44100 and native.shape[0] == 2
    return resample_poly(native.mean(axis=0), 160, 441).astype(np.float32)


def test_real_speech_24bit_stereo_44k(shared_audio: Path) -> None:
    path = shared_audio / "jfk.flac"
    info = probe(path)
    assert (info.channels, info.sample_rate, info.duration_ms, info.codec) == (
        2,
        44100,
        11000,
        "flac",
    )
    audio = load_audio(path)
    ref = reference_jfk(shared_audio)
    assert len(audio) == len(ref) == 176000
    # Two different resamplers agree closely away from the edges.
    diff = audio[1000:-1000] - ref[1000:-1000]
    assert np.sqrt(np.mean(diff**2)) < 0.01 * np.sqrt(np.mean(ref**2)) + 1e-3
    assert np.corrcoef(audio, ref)[0, 1] > 0.999


@pytest.mark.parametrize("kind", ["mp3", "m4a", "ogg_opus"])
def test_real_speech_through_lossy_codecs(shared_audio: Path, tmp_path: Path, kind: str) -> None:
    native, rate = gen.read_native(shared_audio / "jfk.flac")
    if "opus" in kind:
        native, rate = resample_poly(native, 160, 147, axis=1).astype(np.float32), 48000
    path = write(tmp_path, kind, native, rate)
    audio = load_audio(path)
    ref = reference_jfk(shared_audio)
    assert abs(len(audio) - len(ref)) < 0.05 * SAMPLE_RATE
    n = min(len(audio), len(ref))
    assert np.corrcoef(audio[:n], ref[:n])[0, 1] > 0.9  # same speech, same timing


# ---------------------------------------------------------------- streaming


def test_stream_chunks_match_the_whole_file(shared_audio: Path) -> None:
    path = shared_audio / "jfk.flac"
    whole = load_audio(path)
    report = DecodeReport()
    chunks = list(stream_audio(path, chunk_seconds=4.0, report=report))
    assert [len(c) for c in chunks] == [64000, 64000, 48000]
    assert all(c.dtype == np.float32 for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), whole)
    assert report.complete and report.decoded_ms == 11000 and report.user_message == ""


def test_stream_from_an_offset(shared_audio: Path) -> None:
    path = shared_audio / "jfk.flac"
    whole = load_audio(path)
    tail = np.concatenate(list(stream_audio(path, start_ms=3000)))
    assert abs(len(tail) - (len(whole) - 48000)) <= 2
    # A fresh resampler starts at another sub-sample phase: equal up to a fraction of a sample.
    n = min(len(tail), len(whole) - 48000)
    assert np.corrcoef(tail[:n], whole[48000 : 48000 + n])[0, 1] > 0.97
    lag = np.argmax(np.correlate(whole[46000:58000], tail[2000:6000], "valid")) + 46000 - 2000
    assert abs(lag - 48000) <= 1


def test_streaming_never_holds_the_whole_file(tmp_path: Path) -> None:
    minutes = 4
    path = write(tmp_path, "wav_s16", gen.tone(300.0, minutes * 60, SAMPLE_RATE, 0.3), SAMPLE_RATE)
    whole_bytes = minutes * 60 * SAMPLE_RATE * 4
    tracemalloc.start()
    try:
        total = 0
        for chunk in stream_audio(path, chunk_seconds=10.0):
            total += len(chunk)
        _, stream_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        audio = load_audio(path)
        _, load_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == len(audio) == minutes * 60 * SAMPLE_RATE
    assert stream_peak < whole_bytes / 4  # a few 10 s chunks, not the file
    assert load_peak < 1.3 * whole_bytes  # one buffer, grown or trimmed in place


def test_chunk_seconds_must_be_positive(shared_audio: Path) -> None:
    with pytest.raises(ValueError):
        stream_audio(shared_audio / "jfk.flac", chunk_seconds=0)


# ---------------------------------------------------------------- bad input


def assert_user_message(err: MediaError, name: str) -> None:
    assert name in err.user_message and err.user_message.endswith(".")
    assert "Errno" not in err.user_message


def test_missing_path(tmp_path: Path) -> None:
    for call in (probe, load_audio, stream_audio):
        with pytest.raises(MediaUnreadableError) as err:
            call(tmp_path / "nowhere.mp3")
        assert_user_message(err.value, "nowhere.mp3")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    with pytest.raises(MediaUnreadableError) as err:
        load_audio(folder)
    assert_user_message(err.value, "folder.wav")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(MediaUnreadableError):
        probe(fifo)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"Meeting notes: nothing to hear here.\n" * 20),
        ("notes.mp3", b"Meeting notes: nothing to hear here.\n" * 20),  # a lying extension
        ("noise.bin", np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes()),
        ("picture.png", b"\x89PNG\r\n\x1a\n"),
    ],
)
def test_not_media(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises((NotMediaError, CorruptMediaError)) as err:
        load_audio(path)
    assert_user_message(err.value, name)
    if not is_supported_media(path):
        assert isinstance(err.value, NotMediaError)


def test_png_image_is_not_media(tmp_path: Path) -> None:
    import av

    path = tmp_path / "frame.png"
    with av.open(str(path), "w", format="image2") as out:
        s = out.add_stream("png")
        s.width, s.height, s.pix_fmt = 8, 8, "rgb24"
        out.mux(s.encode(av.VideoFrame.from_ndarray(np.zeros((8, 8, 3), np.uint8), format="rgb24")))
        out.mux(s.encode(None))
    with pytest.raises(NotMediaError):
        probe(path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(EmptyMediaError) as err:
        probe(path)
    assert_user_message(err.value, "empty.wav")


def test_wav_with_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    with wave.open(str(path), "wb") as w:  # a valid header and no samples
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    assert probe(path).duration_ms == 0
    with pytest.raises(EmptyMediaError) as err:
        load_audio(path)
    assert_user_message(err.value, path.name)


def test_truncated_flac_gives_the_valid_part_and_reports_the_loss(tmp_path: Path) -> None:
    path = write(tmp_path, "flac_s16", gen.tone(440.0, 10.0, 44100), 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    report = DecodeReport()
    audio = load_audio(path, report=report)
    assert 4.0 * SAMPLE_RATE < len(audio) < 5.5 * SAMPLE_RATE
    assert amplitude_at(audio, 440.0) == pytest.approx(0.5, abs=0.01)
    assert report.expected_ms == 10000 and report.lost_ms == pytest.approx(
        10000 - len(audio) / 16, abs=20
    )
    assert report.lost_ranges[-1][1] == 10000
    assert "truncated" in report.warnings[-1]
    assert path.name in report.user_message and "damaged" in report.user_message
    with pytest.raises(CorruptMediaError) as err:
        load_audio(path, strict=True)
    assert err.value.report.lost_ms == report.lost_ms


def test_damaged_middle_keeps_later_audio_at_its_time(tmp_path: Path) -> None:
    rate = 44100
    signal = np.concatenate([gen.tone(440.0, 5.0, rate), gen.tone(880.0, 5.0, rate)])
    path = write(tmp_path, "flac_s16", signal, rate)
    data = bytearray(path.read_bytes())
    n = len(data)
    data[n * 4 // 10 : n * 45 // 100] = (
        np.random.default_rng(2).integers(0, 256, n * 5 // 100, dtype=np.uint8).tobytes()
    )
    path.write_bytes(bytes(data))
    report = DecodeReport()
    audio = load_audio(path, report=report)
    assert abs(len(audio) - 10 * SAMPLE_RATE) < 0.05 * SAMPLE_RATE  # the gap is filled with silence
    assert report.lost_ms > 100
    start, end = report.lost_ranges[0]
    assert 3000 < start < end < 5000
    assert not np.any(audio[(start + 50) * 16 : (end - 50) * 16])  # the lost stretch is silent
    # The second tone still starts at 5 s.
    assert dominant_hz(audio[int(5.2 * SAMPLE_RATE) : 9 * SAMPLE_RATE]) == pytest.approx(
        880.0, abs=3
    )
    assert dominant_hz(audio[int(4.3 * SAMPLE_RATE) : int(4.9 * SAMPLE_RATE)]) == pytest.approx(
        440.0, abs=30
    )


def test_damaged_mp3_still_decodes_with_a_report(tmp_path: Path) -> None:
    path = write(tmp_path, "mp3", gen.tone(440.0, 6.0, 44100), 44100)
    data = bytearray(path.read_bytes())
    n = len(data)
    data[n * 4 // 10 : n * 6 // 10] = (
        np.random.default_rng(3)
        .integers(0, 256, n * 6 // 10 - n * 4 // 10, dtype=np.uint8)
        .tobytes()
    )
    path.write_bytes(bytes(data))
    report = DecodeReport()
    audio = load_audio(path, report=report)
    assert len(audio) > 3 * SAMPLE_RATE
    assert report.lost_ms > 500 and not report.complete


def test_m4a_cut_in_half_is_corrupt_not_unknown(tmp_path: Path) -> None:
    path = write(tmp_path, "m4a", gen.tone(440.0, 3.0, 44100), 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: gone
    with pytest.raises(CorruptMediaError) as err:
        load_audio(path)
    assert_user_message(err.value, path.name)


def test_header_followed_by_garbage_has_nothing_decodable(tmp_path: Path) -> None:
    path = write(tmp_path, "flac_s16", gen.tone(440.0, 3.0, 44100), 44100)
    data = path.read_bytes()
    garbage = np.random.default_rng(4).integers(0, 256, len(data), dtype=np.uint8).tobytes()
    path.write_bytes(data[:200] + garbage)
    with pytest.raises(MediaError) as err:  # opening or decoding fails; either way typed
        load_audio(path)
    assert isinstance(err.value, (CorruptMediaError, NotMediaError))
    assert_user_message(err.value, path.name)


@pytest.mark.parametrize("how", ["truncate", "delete"])
def test_file_vanishing_mid_stream(tmp_path: Path, how: str) -> None:
    path = write(tmp_path, "wav_s16", gen.tone(440.0, 12.0, SAMPLE_RATE), SAMPLE_RATE)
    chunks = stream_audio(path, chunk_seconds=1.0)
    got = [next(chunks)]
    if how == "truncate":
        with open(path, "r+b") as f:
            f.truncate(1000)
    else:
        path.unlink()
    with pytest.raises(MediaVanishedError) as err:
        for chunk in chunks:
            got.append(chunk)
    assert_user_message(err.value, path.name)
    assert err.value.decoded_ms >= 1000
    assert len(got) < 12


# ---------------------------------------------------------------- finding files


def test_find_media_recurses_sorts_and_skips_hidden(tmp_path: Path) -> None:
    for rel in [
        "b.mp3",
        "a.WAV",
        "sub/c.mkv",
        "sub/deeper/d.m4a",
        ".hidden.mp3",
        ".cache/e.mp3",
        "notes.txt",
        "sub/f.PNG",
    ]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    (tmp_path / "folder.mp3").mkdir()
    found = [p.relative_to(tmp_path).as_posix() for p in find_media(tmp_path)]
    assert found == ["a.WAV", "b.mp3", "sub/c.mkv", "sub/deeper/d.m4a"]
    assert is_supported_media("talk.Opus") and is_supported_media(Path("x/movie.webm"))
    assert not is_supported_media("notes.txt") and not is_supported_media(".hidden.wav")
    with pytest.raises(MediaUnreadableError):
        find_media(tmp_path / "missing")
