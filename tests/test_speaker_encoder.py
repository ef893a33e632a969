"""The voice encoder: Resemblyzer's checkpoint read without torch, its front end, and its
embeddings on MLX against numbers Resemblyzer itself produced (tests/data)."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from stenogram.core import speaker_encoder
from stenogram.core.media import load_audio
from stenogram.core.speaker_encoder import SpeakerEncoder, partial_starts, resemblyzer_weights_path
from stenogram.core.speaker_errors import SpeakerModelError
from stenogram.core.speaker_features import (
    frame_count,
    hz_to_mel,
    mel_filterbank,
    mel_frames,
    mel_to_hz,
    normalize_volume,
)
from stenogram.core.torch_legacy import (
    MAGIC_NUMBER,
    TorchLegacyError,
    load_legacy_checkpoint,
    load_state_dict,
)

REFERENCE = Path(__file__).parent / "data" / "resemblyzer_reference.json"


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    enc = SpeakerEncoder()
    enc.load()
    return enc


def test_legacy_reader_reads_the_real_checkpoint() -> None:
    state = load_state_dict(resemblyzer_weights_path())
    assert state["lstm.weight_ih_l0"].shape == (1024, 40)
    for n in range(3):
        assert state[f"lstm.weight_hh_l{n}"].shape == (1024, 256)
        assert state[f"lstm.bias_ih_l{n}"].shape == (1024,)
    assert state["lstm.weight_ih_l2"].shape == (1024, 256)
    assert state["linear.weight"].shape == (256, 256)
    assert state["linear.bias"].shape == (256,)
    assert state["similarity_weight"].shape == (1,)
    assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in state.values())
    # Trained weights, not zeros or a constant.
    assert float(np.abs(state["lstm.weight_hh_l0"]).mean()) > 0.01
    assert state["lstm.weight_hh_l0"].std() > 0.01


def _legacy_file(path: Path, obj: bytes, keys: list[str], storages: list[bytes]) -> None:
    with open(path, "wb") as f:
        for header in (MAGIC_NUMBER, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(obj)
        pickle.dump(keys, f, protocol=2)
        for raw in storages:
            f.write(struct.pack("<q", len(raw) // 4) + raw)


def test_legacy_reader_refuses_other_globals(tmp_path: Path) -> None:
    # A pickle naming os.system must never be resolved, let alone called.
    evil = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
    path = tmp_path / "evil.pt"
    _legacy_file(path, evil, [], [])
    with pytest.raises(TorchLegacyError, match="os.system"):
        load_legacy_checkpoint(path)


def test_legacy_reader_rejects_other_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK\x03\x04 a zip-format checkpoint or anything else")
    with pytest.raises(TorchLegacyError):
        load_legacy_checkpoint(junk)
    with pytest.raises(TorchLegacyError, match="cannot read"):
        load_legacy_checkpoint(tmp_path / "absent.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(resemblyzer_weights_path().read_bytes()[:500_000])
    with pytest.raises(TorchLegacyError):
        load_legacy_checkpoint(truncated)


def test_missing_weights_give_a_clear_error(tmp_path: Path) -> None:
    enc = SpeakerEncoder(weights_path=tmp_path / "nothing.pt")
    with pytest.raises(SpeakerModelError, match="cannot be read") as err:
        enc.embed_utterance(np.zeros(16_000, dtype=np.float32))
    assert "voice model" in err.value.user_message


def test_mel_scale_and_filterbank_match_slaney() -> None:
    hz = np.array([0.0, 500.0, 1000.0, 4000.0, 8000.0])
    assert np.allclose(mel_to_hz(hz_to_mel(hz)), hz)
    assert hz_to_mel(np.array([1000.0]))[0] == pytest.approx(15.0)  # the knee of Slaney's scale
    bank = mel_filterbank()
    assert bank.shape == (40, 201)
    assert (bank >= 0).all() and (bank.sum(axis=1) > 0).all()
    # Slaney area normalisation: every triangle has the same area (2 / width * width / 2 = 1).
    areas = bank.sum(axis=1) * (16_000 / 400)
    assert np.allclose(areas, areas[0], rtol=0.1)


def test_mel_frames_are_centred_power_frames() -> None:
    t = np.arange(16_000) / 16_000
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    mel = mel_frames(tone)
    assert mel.shape == (frame_count(len(tone)), 40) == (101, 40)
    band = int(np.argmax(mel[50]))
    centre_hz = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(8000), 42))[band + 1]
    assert abs(centre_hz - 440) < 120
    # Power: twice the amplitude, four times the mel values.
    assert np.allclose(mel_frames(2 * tone)[50], 4 * mel[50], rtol=1e-4)


def test_partials_follow_resemblyzer() -> None:
    assert partial_starts(16_000) == [0]  # shorter than one partial: one, zero-padded
    starts = partial_starts(6 * 16_000)
    assert starts == [0, 77, 154, 231, 308, 385, 462]  # Resemblyzer 0.1.4 gives the same


def test_normalize_volume_only_raises() -> None:
    quiet = np.full(1000, 0.001, dtype=np.float32)
    loud = np.full(1000, 0.5, dtype=np.float32)
    rms_db = 20 * np.log10(np.sqrt(np.mean(normalize_volume(quiet) ** 2)))
    assert rms_db == pytest.approx(-30.0, abs=0.1)
    assert np.array_equal(normalize_volume(loud), loud)
    assert np.array_equal(normalize_volume(np.zeros(10, np.float32)), np.zeros(10))


def test_embeddings_match_resemblyzer(shared_audio: Path, encoder: SpeakerEncoder) -> None:
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    ours = {}
    for name, expected in reference.items():
        audio = normalize_volume(load_audio(shared_audio / name))
        ours[name] = encoder.embed_utterance(audio)
        expected = np.asarray(expected, dtype=np.float32)
        assert ours[name].shape == (256,)
        assert float(ours[name] @ expected) / float(np.linalg.norm(expected)) > 0.9999, name
        assert np.abs(ours[name] - expected).max() < 1e-4, name
    # Different readers really are far apart (same-reader windows score about 0.9).
    male, female, _ = ours.values()
    assert float(male @ female) < 0.7


def test_gpu_tanh_path_gives_the_same_embedding(
    shared_audio: Path, encoder: SpeakerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Apple Silicon the LSTM uses MLX's own tanh; check that path here on the CPU too.
    import mlx.core as mx

    audio = normalize_volume(load_audio(shared_audio / "en_ls_2830-3980-0000.flac"))
    fast = encoder.embed_utterance(audio)
    monkeypatch.setattr(speaker_encoder, "_tanh_function", lambda: mx.tanh)
    exact = encoder.embed_utterance(audio)
    assert np.abs(fast - exact).max() < 1e-5


def test_embed_windows_only_inside_regions(shared_audio: Path, encoder: SpeakerEncoder) -> None:
    audio = load_audio(shared_audio / "en_ls_1089-134686-0002.flac")  # 6.6 s
    times, embeds = encoder.embed_windows(audio, 1.5, 0.5)
    assert np.allclose(times, np.arange(0.25, 6.5, 0.5)) and embeds.shape == (13, 256)
    assert np.allclose(np.linalg.norm(embeds, axis=1), 1.0, atol=1e-5)
    fractions: list[float] = []
    times, embeds = encoder.embed_windows(
        audio, 1.5, 0.5, regions=[(1.0, 3.0), (5.0, 5.2)], on_progress=fractions.append
    )
    assert list(np.round(times, 2)) == [1.25, 1.75, 2.25, 2.75, 5.1]
    assert fractions[-1] == 1.0
    assert encoder.embed_windows(audio, regions=[])[1].shape == (0, 256)
