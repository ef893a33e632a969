"""Read PyTorch's legacy (pre-zip) checkpoint files without torch.

``torch.save`` before PyTorch 1.6 wrote five pickles in a row: a magic number, the protocol
version (1001), a dict of system information, the object itself (tensors inside it are
persistent ids that name a storage), and the list of storage keys. After them, for each key
in that order, the storage follows as an int64 element count and its raw little-endian data.

Only the few globals such a checkpoint needs are resolved, each to a tiny stand-in here; any
other global is refused, so loading a file never runs code that the file names.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch/serialization.py's MAGIC_NUMBER
PROTOCOL_VERSION = 1001
COUNT_BYTES = 8  # each storage starts with its element count as a little-endian int64

# Storage class name -> element type, for the storage types a legacy checkpoint can name.
STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class TorchLegacyError(Exception):
    """The file is not a readable legacy PyTorch checkpoint."""


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return STORAGE_DTYPES[self.name]


@dataclass
class _Storage:
    """A storage named by the pickle; its data is read after the pickles end."""

    key: str
    dtype: np.dtype
    size: int
    data: np.ndarray | None = None


@dataclass
class _TensorRef:
    """What ``torch._utils._rebuild_tensor_v2`` would build: a strided view of a storage."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise TorchLegacyError(f"storage {self.storage.key} has no data")
        if not self.shape:
            return data[self.offset : self.offset + 1].reshape(()).copy()
        itemsize = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.shape,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(
    storage: _Storage,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> _TensorRef:
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data: _TensorRef, requires_grad: bool, backward_hooks: Any) -> _TensorRef:
    return data


class _CheckpointUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise TorchLegacyError(f"the checkpoint names {module}.{name}, which is not allowed")

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage_type, key, location, size[, view_metadata])
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise TorchLegacyError(f"unexpected persistent id {pid!r}")
        storage_type, key, size = pid[1], str(pid[2]), int(pid[4])
        if not isinstance(storage_type, _StorageType):
            raise TorchLegacyError(f"unexpected storage type {storage_type!r}")
        if len(pid) > 5 and pid[5] is not None:
            raise TorchLegacyError("storage views are not supported")
        storage = self._storages.get(key)
        if storage is None:
            storage = _Storage(key, storage_type.dtype, size)
            self._storages[key] = storage
        return storage


class _PlainUnpickler(pickle.Unpickler):
    """For the header pickles, which hold only plain values."""

    def find_class(self, module: str, name: str) -> Any:
        raise TorchLegacyError(f"the file header names {module}.{name}, which is not allowed")


def load_legacy_checkpoint(path: str | Path) -> Any:
    """The checkpoint object with every tensor turned into a numpy array."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _load(f)
    except OSError as e:
        raise TorchLegacyError(f"cannot read {path}: {e.strerror or e}") from e
    except (pickle.UnpicklingError, EOFError, ValueError, struct.error) as e:
        raise TorchLegacyError(f"{path.name} is not a legacy PyTorch checkpoint ({e})") from e


def load_state_dict(path: str | Path, key: str = "model_state") -> dict[str, np.ndarray]:
    """One state dict of a checkpoint (``model_state`` by default) as name -> array."""
    checkpoint = load_legacy_checkpoint(path)
    state = checkpoint.get(key) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise TorchLegacyError(f"{Path(path).name} has no {key!r} dict")
    return {str(name): value for name, value in state.items() if isinstance(value, np.ndarray)}


def _load(f: IO[bytes]) -> Any:
    if _PlainUnpickler(f).load() != MAGIC_NUMBER:
        raise TorchLegacyError("wrong magic number: not a legacy PyTorch checkpoint")
    if _PlainUnpickler(f).load() != PROTOCOL_VERSION:
        raise TorchLegacyError("unsupported legacy PyTorch protocol version")
    system_info = _PlainUnpickler(f).load()
    if not isinstance(system_info, dict) or not system_info.get("little_endian", False):
        raise TorchLegacyError("only little-endian checkpoints are supported")
    storages: dict[str, _Storage] = {}
    obj = _CheckpointUnpickler(f, storages).load()
    keys = _PlainUnpickler(f).load()
    if not isinstance(keys, list):
        raise TorchLegacyError("the list of storage keys is missing")
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise TorchLegacyError(f"storage {key} is listed but never used")
        storage.data = _read_storage(f, storage)
    return _resolve(obj)


def _read_storage(f: IO[bytes], storage: _Storage) -> np.ndarray:
    (count,) = struct.unpack("<q", f.read(COUNT_BYTES))
    if count != storage.size:
        raise TorchLegacyError(
            f"storage {storage.key} holds {count} elements, the pickle said {storage.size}"
        )
    nbytes = count * storage.dtype.itemsize
    raw = f.read(nbytes)
    if len(raw) != nbytes:
        raise TorchLegacyError(f"the file ends inside storage {storage.key}")
    return np.frombuffer(raw, dtype=storage.dtype)


def _resolve(obj: Any) -> Any:
    """Replace tensor references with arrays, recursively through dicts, lists and tuples."""
    if isinstance(obj, _TensorRef):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return type(obj)((k, _resolve(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [_resolve(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve(v) for v in obj)
    return obj
