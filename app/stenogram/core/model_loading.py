"""Load an MLX Whisper model folder, checking every parameter (mlx's ``update`` does not).

A folder in the mlx-community layout holds ``config.json`` (``ModelDimensions`` fields, maybe
``quantization`` and our ``alignment_heads``) and ``weights.safetensors`` or ``weights.npz``.
MLX is imported inside the functions, after :func:`ensure_mlx`, so importing this is cheap.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stenogram.core.mlx_runtime import ensure_mlx
from stenogram.core.model_errors import ModelError

if TYPE_CHECKING:
    from mlx_whisper.whisper import Whisper

WEIGHT_FILES = ("weights.safetensors", "weights.npz")
CONFIG_FILE = "config.json"
# Keys that mlx-community or our converter add to config.json besides ModelDimensions.
EXTRA_CONFIG_KEYS = ("model_type", "quantization", "alignment_heads")
# Newer mlx-community conversions save the alignment heads among the weights.
ALIGNMENT_KEY = "alignment_heads"
DTYPES = ("float32", "float16", "bfloat16")


def read_config(model_dir: Path) -> dict[str, Any]:
    """config.json of a model folder, with a clear error when missing or malformed."""
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise ModelError(f"{model_dir} is not a Whisper model folder (no {CONFIG_FILE}).")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"The model's {CONFIG_FILE} in {model_dir} is not valid JSON.") from exc
    if not isinstance(config, dict):
        raise ModelError(f"The model's {CONFIG_FILE} in {model_dir} is not a JSON object.")
    return config


def weights_file(model_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (Path(model_dir) / name).is_file():
            return Path(model_dir) / name
    raise ModelError(
        f"{model_dir} has no model weights (expected {' or '.join(WEIGHT_FILES)})."
    )


def model_dimensions(config: dict[str, Any], model_dir: Path | str = "the model"):
    """mlx_whisper ``ModelDimensions`` from a config, refusing missing or unknown fields."""
    from mlx_whisper.whisper import ModelDimensions

    names = [f.name for f in fields(ModelDimensions)]
    missing = [n for n in names if n not in config]
    if missing:
        raise ModelError(f"The config of {model_dir} lacks {', '.join(missing)}.")
    values = {}
    for name in names:
        value = config[name]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ModelError(f"The config of {model_dir} has an invalid {name}: {value!r}.")
        values[name] = value
    return ModelDimensions(**values)


def load_whisper(model_dir: Path | str, dtype: str = "float32") -> Whisper:
    """Build mlx_whisper's ``Whisper`` from a model folder, checked and cast to ``dtype``."""
    ensure_mlx()
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten, tree_unflatten
    from mlx_whisper.whisper import Whisper

    if dtype not in DTYPES:
        raise ModelError(f"Unknown model dtype '{dtype}' (use one of {', '.join(DTYPES)}).")
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    dims = model_dimensions(config, model_dir)
    weights = _load_weights(weights_file(model_dir))
    stored_heads = weights.pop(ALIGNMENT_KEY, None)

    mx_dtype = getattr(mx, dtype)
    model = Whisper(dims, mx_dtype)
    quantization = config.get("quantization")
    if quantization:
        if not isinstance(quantization, dict):
            raise ModelError(f"The config of {model_dir} has an invalid quantization entry.")
        quant_args = {k: v for k, v in quantization.items() if k in ("group_size", "bits", "mode")}
        nn.quantize(
            model,
            **quant_args,
            class_predicate=lambda p, m: isinstance(m, (nn.Linear, nn.Embedding))
            and f"{p}.scales" in weights,
        )

    expected = {
        name: value.shape
        for name, value in tree_flatten(model.parameters())
        if name != ALIGNMENT_KEY
    }
    check_parameters(expected, {k: v.shape for k, v in weights.items()}, model_dir)
    model.update(tree_unflatten(list(weights.items())))
    _cast_floating(model, mx_dtype)
    model.alignment_heads = _alignment_heads(config, stored_heads, dims, model_dir)
    mx.eval(model.parameters())
    _evaluate_private_arrays(model)
    _check_finite(model, model_dir)
    return model


def _evaluate_private_arrays(model: Whisper) -> None:
    """Computes the arrays ``parameters()`` leaves out (the decoder's causal mask, the
    encoder's positions): left lazy, their graph belongs to the loading thread's MLX stream,
    and the first decode on any other thread (a dictation's, a job's) fails with "There is
    no Stream(cpu, 0) in current thread"."""
    import mlx.core as mx

    private = [
        value
        for module in model.modules()
        for name, value in module.items()
        if name.startswith("_") and isinstance(value, mx.array)
    ]
    mx.eval(private)


def check_parameters(
    expected: dict[str, tuple[int, ...]],
    found: dict[str, tuple[int, ...]],
    model_dir: Path | str,
) -> None:
    """Every expected parameter present with its shape, and nothing unknown left over."""
    missing = sorted(set(expected) - set(found))
    if missing:
        raise ModelError(
            f"The model in {model_dir} is incomplete: {len(missing)} parameter(s) missing "
            f"({_some(missing)})."
        )
    unknown = sorted(set(found) - set(expected))
    if unknown:
        raise ModelError(
            f"The model in {model_dir} has parameters that do not fit its config "
            f"({_some(unknown)}); the config and the weights belong to different models."
        )
    wrong = [n for n in sorted(expected) if tuple(expected[n]) != tuple(found[n])]
    if wrong:
        n = wrong[0]
        raise ModelError(
            f"The model in {model_dir} does not match its config: '{n}' has shape "
            f"{tuple(found[n])}, expected {tuple(expected[n])}"
            f"{f' (and {len(wrong) - 1} more)' if len(wrong) > 1 else ''}."
        )


def _load_weights(path: Path) -> dict:
    import mlx.core as mx

    try:
        weights = mx.load(str(path))
    except Exception as exc:  # mlx raises RuntimeError/ValueError with C++ messages
        raise ModelError(
            f"The weights file {path} is damaged or unreadable ({str(exc).strip()[:120]})."
        ) from exc
    if not isinstance(weights, dict):
        raise ModelError(f"The weights file {path} does not hold named tensors.")
    return weights


def _cast_floating(model, mx_dtype) -> None:
    """Cast float parameters; quantized weights (integers) stay as they are."""
    import mlx.core as mx

    model.apply(
        lambda x: x.astype(mx_dtype) if mx.issubdtype(x.dtype, mx.floating) else x
    )


def _alignment_heads(config: dict[str, Any], stored, dims, model_dir: Path):
    """[layer, head] pairs: config.json first, then weights, then Whisper's default."""
    import mlx.core as mx
    import numpy as np

    heads = config.get(ALIGNMENT_KEY)
    if heads is not None:
        try:
            array = np.asarray(heads, dtype=np.int64).reshape(-1, 2)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"The alignment heads in {model_dir} are not [layer, head] pairs.") from exc
    elif stored is not None:
        array = np.asarray(stored)
        if array.dtype == np.bool_:  # a (layers, heads) mask
            array = np.argwhere(array)
        array = array.astype(np.int64).reshape(-1, 2)
    else:
        mask = np.zeros((dims.n_text_layer, dims.n_text_head), dtype=bool)
        mask[dims.n_text_layer // 2 :] = True
        array = np.argwhere(mask)
    if len(array) == 0 or (array < 0).any() or (array[:, 0] >= dims.n_text_layer).any() or (
        array[:, 1] >= dims.n_text_head
    ).any():
        raise ModelError(f"The alignment heads in {model_dir} do not fit the decoder.")
    return mx.array(array.astype(np.int32))


def _check_finite(model, model_dir: Path) -> None:
    """NaN or infinite weights decode as garbage: refuse them instead."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    for name, value in tree_flatten(model.parameters()):
        if mx.issubdtype(value.dtype, mx.floating) and not mx.all(mx.isfinite(value)).item():
            raise ModelError(f"The model in {model_dir} is corrupt: '{name}' holds NaN or infinity.")


def _some(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (", …" if len(names) > n else "")
