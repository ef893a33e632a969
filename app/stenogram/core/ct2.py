"""Read CTranslate2 Whisper checkpoints and convert them to MLX model folders.

A faster-whisper model folder holds ``model.bin`` (CTranslate2's own binary format) and a
``config.json`` with the alignment heads. We read ``model.bin`` through a memory map, so the
converter never holds more than one tensor in memory, and write ``weights.safetensors`` plus a
``config.json`` in the mlx-community layout that ``mlx_whisper.whisper.Whisper`` expects.
No MLX import is needed here: conversion is numpy only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stenogram.core.model_errors import ModelError

# model.bin format versions we know how to read (faster-whisper models use 6).
MIN_VERSION = 2
MAX_VERSION = 6
# CTranslate2 dtype ids; bfloat16 has no numpy type: read as uint16, widen on access.
CT2_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),
}
BF16_ID = 5
SAFETENSORS_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16"}
OUTPUT_DTYPES = {"float16": np.dtype("<f2"), "float32": np.dtype("<f4")}
# Whisper's attention heads are always 64 wide; used only when num_heads is not stored.
HEAD_DIM = 64
# Tensors in model.bin that have no MLX parameter: MLX computes the encoder sinusoids itself,
# and the output projection is the token embedding (tied).
UNUSED_TENSORS = ("encoder/position_encodings/encodings", "decoder/projection/weight")
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class Ct2Checkpoint:
    """The tensors of one model.bin, as read-only views into a memory map."""

    path: Path
    spec: str
    revision: int
    variables: Mapping[str, np.ndarray]
    aliases: Mapping[str, str]
    bfloat16: frozenset[str]

    def has(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.variables

    def raw(self, name: str) -> np.ndarray:
        """The stored tensor (an alias resolves to its target), without conversion."""
        target = self.aliases.get(name, name)
        if target not in self.variables:
            raise ModelError(
                f"The CTranslate2 model {self.path} lacks the tensor '{name}'; "
                "the file is incomplete or not a Whisper model."
            )
        return self.variables[target]

    def tensor(self, name: str) -> np.ndarray:
        """The tensor as floating point: bfloat16 widened, int8/int16 weights dequantized."""
        target = self.aliases.get(name, name)
        data = self.raw(name)
        if target in self.bfloat16:
            return (data.astype(np.uint32) << 16).view(np.float32)
        if data.dtype.kind == "i" and data.ndim > 0:
            # CTranslate2 quantizes as q = round(w * scale), one scale per output row.
            scale = self.tensor(f"{name}_scale").astype(np.float32)
            if scale.ndim == 1:
                scale = scale.reshape(-1, *([1] * (data.ndim - 1)))
            return data.astype(np.float32) / scale
        return data

    def scalar(self, name: str, default: int | None = None) -> int | None:
        if not self.has(name):
            return default
        return int(self.raw(name).reshape(-1)[0])

    def layer_count(self, prefix: str) -> int:
        n = 0
        while any(v.startswith(f"{prefix}/layer_{n}/") for v in self.variables):
            n += 1
        return n


def read_ct2(path: Path) -> Ct2Checkpoint:
    """Parse a CTranslate2 ``model.bin``; tensors stay on disk (memory map)."""
    path = Path(path)
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read the CTranslate2 model {path}: {exc}.") from exc
    reader = _Reader(data, path)
    version = reader.uint(4)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ModelError(
            f"{path} is not a CTranslate2 model this version of Stenogram can read "
            f"(format version {version}, expected {MIN_VERSION} to {MAX_VERSION})."
        )
    spec = reader.string()
    revision = reader.uint(4)
    variables: dict[str, np.ndarray] = {}
    bfloat16: set[str] = set()
    for _ in range(reader.uint(4)):
        name = reader.string()
        dims = tuple(reader.uint(4) for _ in range(reader.uint(1)))
        type_id = reader.uint(1)
        if type_id not in CT2_DTYPES:
            raise ModelError(f"{path}: tensor '{name}' has an unknown data type ({type_id}).")
        dtype = CT2_DTYPES[type_id]
        nbytes = reader.uint(4)
        if nbytes != int(np.prod(dims, dtype=np.int64)) * dtype.itemsize:
            raise ModelError(f"{path}: tensor '{name}' has a size that does not match its shape.")
        variables[name] = reader.array(dims, dtype, nbytes)
        if type_id == BF16_ID:
            bfloat16.add(name)
    aliases: dict[str, str] = {}
    if version >= 3:
        for _ in range(reader.uint(4)):
            alias = reader.string()
            aliases[alias] = reader.string()
    return Ct2Checkpoint(path, spec, revision, variables, aliases, frozenset(bfloat16))


class _Reader:
    """Sequential little-endian reads over the memory map, with truncation checks."""

    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.data = data
        self.path = path
        self.offset = 0

    def take(self, n: int) -> np.ndarray:
        end = self.offset + n
        if end > len(self.data):
            raise ModelError(
                f"The CTranslate2 model {self.path} is truncated "
                f"(it ends at byte {len(self.data)}, more data was expected)."
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size).tobytes(), "little")

    def string(self) -> str:
        raw = self.take(self.uint(2)).tobytes()
        try:
            return raw.rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelError(f"{self.path} is corrupt (a name is not text).") from exc

    def array(self, dims: tuple[int, ...], dtype: np.dtype, nbytes: int) -> np.ndarray:
        start = self.offset
        self.take(nbytes)
        return np.ndarray(dims, dtype=dtype, buffer=self.data, offset=start)


# --- Whisper dimensions ---------------------------------------------------------------


def whisper_dims(ckpt: Ct2Checkpoint) -> dict[str, int]:
    """mlx_whisper ``ModelDimensions`` fields, derived from the tensor shapes."""
    if ckpt.spec and ckpt.spec != "WhisperSpec":
        raise ModelError(f"{ckpt.path} holds a '{ckpt.spec}' model, not Whisper.")
    conv1 = ckpt.raw("encoder/conv1/weight")
    embed = ckpt.raw("decoder/embeddings/weight")
    text_pos = ckpt.raw("decoder/position_encodings/encodings")
    if conv1.ndim != 3 or embed.ndim != 2 or text_pos.ndim != 2:
        raise ModelError(f"{ckpt.path} does not have the tensor shapes of a Whisper model.")
    audio_state, text_state = int(conv1.shape[0]), int(embed.shape[1])
    if ckpt.has("encoder/position_encodings/encodings"):
        audio_ctx = int(ckpt.raw("encoder/position_encodings/encodings").shape[0])
    else:
        audio_ctx = 1500  # 30 s of audio at 50 encoder frames per second
    return {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": audio_ctx,
        "n_audio_state": audio_state,
        "n_audio_head": ckpt.scalar("encoder/num_heads", audio_state // HEAD_DIM) or 1,
        "n_audio_layer": ckpt.layer_count("encoder"),
        "n_vocab": int(embed.shape[0]),
        "n_text_ctx": int(text_pos.shape[0]),
        "n_text_state": text_state,
        "n_text_head": ckpt.scalar("decoder/num_heads", text_state // HEAD_DIM) or 1,
        "n_text_layer": ckpt.layer_count("decoder"),
    }


# --- The name mapping ----------------------------------------------------------------


@dataclass(frozen=True)
class _Take:
    """One MLX parameter: a CT2 tensor, optionally a block of its rows, optionally a conv."""

    target: str
    source: str
    rows: tuple[int, int] | None = None
    conv: bool = False

    def shape(self, ckpt: Ct2Checkpoint) -> tuple[int, ...]:
        shape = tuple(int(s) for s in ckpt.raw(self.source).shape)
        if self.rows:
            start, stop = self.rows
            if shape[0] < stop:
                raise ModelError(
                    f"{ckpt.path}: tensor '{self.source}' has {shape[0]} rows, "
                    f"expected at least {stop}."
                )
            shape = (stop - start, *shape[1:])
        if self.conv:
            shape = (shape[0], shape[2], shape[1])
        return shape

    def data(self, ckpt: Ct2Checkpoint) -> np.ndarray:
        tensor = ckpt.tensor(self.source)
        if self.rows:
            tensor = tensor[self.rows[0] : self.rows[1]]
        if self.conv:
            # CTranslate2 stores (out, in, kernel); MLX's Conv1d wants (out, kernel, in).
            tensor = tensor.transpose(0, 2, 1)
        return tensor


def _linear(target: str, source: str, rows: tuple[int, int] | None = None, bias: bool = True):
    takes = [_Take(f"{target}.weight", f"{source}/weight", rows)]
    if bias:
        takes.append(_Take(f"{target}.bias", f"{source}/bias", rows))
    return takes


def _norm(target: str, source: str) -> list[_Take]:
    return [_Take(f"{target}.weight", f"{source}/gamma"), _Take(f"{target}.bias", f"{source}/beta")]


def _self_attention(target: str, source: str, d: int) -> list[_Take]:
    # linear_0 is q, k, v stacked by rows; Whisper's key has no bias (CT2 stores zeros).
    fused = f"{source}/linear_0"
    return [
        *_linear(f"{target}.query", fused, (0, d)),
        *_linear(f"{target}.key", fused, (d, 2 * d), bias=False),
        *_linear(f"{target}.value", fused, (2 * d, 3 * d)),
        *_linear(f"{target}.out", f"{source}/linear_1"),
    ]


def _cross_attention(target: str, source: str, d: int) -> list[_Take]:
    fused = f"{source}/linear_1"  # k, v stacked by rows
    return [
        *_linear(f"{target}.query", f"{source}/linear_0"),
        *_linear(f"{target}.key", fused, (0, d), bias=False),
        *_linear(f"{target}.value", fused, (d, 2 * d)),
        *_linear(f"{target}.out", f"{source}/linear_2"),
    ]


def _block(target: str, source: str, d: int, cross: bool) -> list[_Take]:
    takes = [
        *_self_attention(f"{target}.attn", f"{source}/self_attention", d),
        *_norm(f"{target}.attn_ln", f"{source}/self_attention/layer_norm"),
        *_linear(f"{target}.mlp1", f"{source}/ffn/linear_0"),
        *_linear(f"{target}.mlp2", f"{source}/ffn/linear_1"),
        *_norm(f"{target}.mlp_ln", f"{source}/ffn/layer_norm"),
    ]
    if cross:
        takes += _cross_attention(f"{target}.cross_attn", f"{source}/attention", d)
        takes += _norm(f"{target}.cross_attn_ln", f"{source}/attention/layer_norm")
    return takes


def whisper_mapping(dims: Mapping[str, int]) -> list[_Take]:
    """Every MLX Whisper parameter and where it comes from in model.bin."""
    da, dt = dims["n_audio_state"], dims["n_text_state"]
    takes = [
        _Take("encoder.conv1.weight", "encoder/conv1/weight", conv=True),
        _Take("encoder.conv1.bias", "encoder/conv1/bias"),
        _Take("encoder.conv2.weight", "encoder/conv2/weight", conv=True),
        _Take("encoder.conv2.bias", "encoder/conv2/bias"),
        *_norm("encoder.ln_post", "encoder/layer_norm"),
        _Take("decoder.token_embedding.weight", "decoder/embeddings/weight"),
        _Take("decoder.positional_embedding", "decoder/position_encodings/encodings"),
        *_norm("decoder.ln", "decoder/layer_norm"),
    ]
    for i in range(dims["n_audio_layer"]):
        takes += _block(f"encoder.blocks.{i}", f"encoder/layer_{i}", da, cross=False)
    for i in range(dims["n_text_layer"]):
        takes += _block(f"decoder.blocks.{i}", f"decoder/layer_{i}", dt, cross=True)
    return takes


def _check_all_used(ckpt: Ct2Checkpoint, takes: list[_Take]) -> None:
    """A tensor we would silently drop means a model we do not understand."""
    used = {t.source for t in takes} | {f"{t.source}_scale" for t in takes}
    used |= set(UNUSED_TENSORS)
    left = sorted(
        name
        for name, value in ckpt.variables.items()
        if value.ndim > 0 and name not in used and not name.endswith("alignment_heads")
    )
    if left:
        raise ModelError(
            f"{ckpt.path} has tensors this converter does not know "
            f"({', '.join(left[:3])}{', …' if len(left) > 3 else ''}); it is not a standard "
            "Whisper model."
        )


# --- Conversion ----------------------------------------------------------------------


def read_alignment_heads(config: Mapping[str, object], dims: Mapping[str, int]) -> list[list[int]]:
    """The [layer, head] pairs from a CT2 config.json, or Whisper's default (upper half)."""
    heads = config.get("alignment_heads")
    if not heads:
        n_layer, n_head = dims["n_text_layer"], dims["n_text_head"]
        return [[layer, head] for layer in range(n_layer // 2, n_layer) for head in range(n_head)]
    try:
        pairs = [[int(layer), int(head)] for layer, head in heads]  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise ModelError("The model's alignment heads are not a list of [layer, head].") from exc
    for layer, head in pairs:
        if not (0 <= layer < dims["n_text_layer"] and 0 <= head < dims["n_text_head"]):
            raise ModelError(
                f"The model's alignment head [{layer}, {head}] does not exist in a decoder of "
                f"{dims['n_text_layer']} layers with {dims['n_text_head']} heads."
            )
    return pairs


def convert_ct2(
    src_dir: Path,
    dst_dir: Path,
    *,
    dtype: str = "auto",
    model_bin: Path | None = None,
) -> dict[str, object]:
    """Convert a CTranslate2 Whisper folder into an MLX folder; returns the config written.

    ``dtype`` is "float16", "float32", or "auto" (float16 weights stay float16, everything
    else becomes float32). ``model_bin`` overrides ``src_dir/model.bin`` (e.g. joined parts).
    """
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    ckpt = read_ct2(model_bin or src_dir / "model.bin")
    ct2_config = _read_json(src_dir / CONFIG_FILE) if (src_dir / CONFIG_FILE).exists() else {}
    dims = whisper_dims(ckpt)
    takes = whisper_mapping(dims)
    _check_all_used(ckpt, takes)
    out_dtype = _output_dtype(ckpt, dtype)
    dst_dir.mkdir(parents=True, exist_ok=True)
    write_safetensors(
        dst_dir / WEIGHTS_FILE,
        [(t.target, t.shape(ckpt), lambda t=t: t.data(ckpt)) for t in takes],
        out_dtype,
    )
    config: dict[str, object] = {
        **dims,
        "model_type": "whisper",
        "alignment_heads": read_alignment_heads(ct2_config, dims),
    }
    _write_json(dst_dir / CONFIG_FILE, config)
    return config


def _output_dtype(ckpt: Ct2Checkpoint, dtype: str) -> np.dtype:
    if dtype == "auto":
        embed = ckpt.raw("decoder/embeddings/weight")
        return OUTPUT_DTYPES["float16" if embed.dtype == np.float16 else "float32"]
    if dtype not in OUTPUT_DTYPES:
        raise ModelError(f"Unknown model dtype '{dtype}' (use float16 or float32).")
    return OUTPUT_DTYPES[dtype]


def write_safetensors(path: Path, entries, dtype: np.dtype) -> None:
    """Write tensors one at a time: ``entries`` are (name, shape, () -> array)."""
    header: dict[str, object] = {"__metadata__": {"format": "mlx"}}
    offset = 0
    for name, shape, _ in entries:
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        header[name] = {
            "dtype": SAFETENSORS_DTYPES[dtype],
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # the format asks for 8-byte alignment of the data
    with open(path, "wb") as f:
        f.write(len(blob).to_bytes(8, "little"))
        f.write(blob)
        for name, shape, produce in entries:
            array = np.ascontiguousarray(produce(), dtype=dtype)
            if array.shape != tuple(shape):
                raise ModelError(f"Tensor '{name}' has shape {array.shape}, expected {shape}.")
            f.write(memoryview(array).cast("B"))
        f.flush()
        os.fsync(f.fileno())


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"Cannot read {path}: it is missing or not valid JSON.") from exc
    if not isinstance(value, dict):
        raise ModelError(f"{path} is not a JSON object.")
    return value


def _write_json(path: Path, value: object) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
