"""The mlx-community Whisper catalogue, and resumable downloads from the Hugging Face hub.

huggingface_hub gives us the hub's addressing (``HF_ENDPOINT``, tokens, offline mode) and file
metadata (commit, ETag, size). The bytes we fetch ourselves over its HTTP session, because
``hf_hub_download`` deletes a partial file when it fails, and we want a download that was
cancelled or cut off to continue where it stopped, with a Range request, the next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from stenogram.core.model_errors import DownloadCancelled, DownloadError, ModelError

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)

WEIGHT_FILES = ("weights.safetensors", "weights.npz")
CONFIG_FILE = "config.json"
STATE_FILE = ".download.json"  # which commit and ETags the partial files belong to
PART_SUFFIX = ".part"
CHUNK_BYTES = 1 << 20  # 1 MiB between cancel checks and progress reports
TIMEOUT_S = 30.0
SHA256 = re.compile(r"^[0-9a-f]{64}$")  # the hub's ETag of a large (LFS) file is its sha256


@dataclass(frozen=True)
class HubModel:
    """One downloadable model: the name it is installed under and its hub repository."""

    name: str
    repo_id: str
    approx_mb: int
    english_only: bool
    quantized: bool = False


MLX = "mlx-community"
CATALOGUE: tuple[HubModel, ...] = (
    HubModel("tiny", f"{MLX}/whisper-tiny-mlx", 75, False),
    HubModel("tiny.en", f"{MLX}/whisper-tiny.en-mlx", 75, True),
    HubModel("tiny-q4", f"{MLX}/whisper-tiny-mlx-q4", 25, False, quantized=True),
    HubModel("base", f"{MLX}/whisper-base-mlx", 145, False),
    HubModel("base.en", f"{MLX}/whisper-base.en-mlx", 145, True),
    HubModel("base-q4", f"{MLX}/whisper-base-mlx-q4", 45, False, quantized=True),
    HubModel("small", f"{MLX}/whisper-small-mlx", 480, False),
    HubModel("small.en", f"{MLX}/whisper-small.en-mlx", 480, True),
    HubModel("small-q4", f"{MLX}/whisper-small-mlx-q4", 140, False, quantized=True),
    HubModel("medium", f"{MLX}/whisper-medium-mlx", 1530, False),
    HubModel("medium.en", f"{MLX}/whisper-medium.en-mlx", 1530, True),
    HubModel("large-v3", f"{MLX}/whisper-large-v3-mlx", 3100, False),
    HubModel("large-v3-turbo", f"{MLX}/whisper-large-v3-turbo", 1610, False),
    HubModel("large-v3-turbo-q4", f"{MLX}/whisper-large-v3-turbo-q4", 460, False, quantized=True),
)


def lookup(name: str) -> HubModel:
    """A catalogue entry by name, or any ``owner/repo`` id (installed under its repo name)."""
    for entry in CATALOGUE:
        if name in (entry.name, entry.repo_id):
            return entry
    if re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        repo_name = name.split("/", 1)[1]
        return HubModel(repo_name, name, 0, english_only=".en" in repo_name)
    known = ", ".join(e.name for e in CATALOGUE)
    raise ModelError(f"No model called '{name}' to download. Known models: {known}.")


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    url: str
    size: int
    etag: str
    commit: str


def hub_endpoint() -> str:
    """HF_ENDPOINT as it is now (huggingface_hub reads it only once, at import)."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def resolve_files(repo_id: str, revision: str = "main") -> list[RemoteFile]:
    """config.json and the weights file of a repo, all pinned to one commit."""
    config = _remote_file(repo_id, CONFIG_FILE, revision)
    for name in WEIGHT_FILES:
        try:
            return [config, _remote_file(repo_id, name, config.commit)]
        except _Missing:
            continue
    raise DownloadError(f"{repo_id} on the hub has no {' or '.join(WEIGHT_FILES)}.")


class _Missing(Exception):
    pass


def _remote_file(repo_id: str, filename: str, revision: str) -> RemoteFile:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = hub_endpoint()
    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint, timeout=TIMEOUT_S)
    except EntryNotFoundError as exc:
        raise _Missing(filename) from exc
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise DownloadError(f"The model repository {repo_id} was not found on the hub.") from exc
    except OfflineModeIsEnabled as exc:
        raise DownloadError("Downloads are off: HF_HUB_OFFLINE is set.") from exc
    except (HfHubHTTPError, OSError) as exc:
        raise DownloadError(f"Cannot reach the model hub at {endpoint}: {_short(exc)}") from exc
    except Exception as exc:  # httpx2 transport errors: no network, refused, timed out
        raise DownloadError(f"Cannot reach the model hub at {endpoint}: {_short(exc)}") from exc
    if not meta.commit_hash or not meta.etag or meta.size is None:
        raise DownloadError(f"The hub at {endpoint} did not describe {filename} of {repo_id}.")
    return RemoteFile(filename, meta.location or url, meta.size, meta.etag, meta.commit_hash)


def fetch_files(
    files: list[RemoteFile],
    folder: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Download into ``folder``, keeping what an earlier, interrupted run already fetched."""
    folder.mkdir(parents=True, exist_ok=True)
    state = _read_state(folder)
    for f in files:
        if state.get(f.filename) != f.etag:  # another revision: its partial bytes are useless
            (folder / f.filename).unlink(missing_ok=True)
            (folder / (f.filename + PART_SUFFIX)).unlink(missing_ok=True)
        state[f.filename] = f.etag
    _write_state(folder, state)

    total = sum(f.size for f in files)
    done = sum(_have(folder, f) for f in files)
    if progress:
        progress(done, total)

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    for f in files:
        if (folder / f.filename).is_file():
            continue
        part = folder / (f.filename + PART_SUFFIX)
        _fetch_one(f, part, advance, cancel)
        _verify(f, part)
        os.replace(part, folder / f.filename)


def _have(folder: Path, f: RemoteFile) -> int:
    if (folder / f.filename).is_file():
        return f.size
    part = folder / (f.filename + PART_SUFFIX)
    return min(part.stat().st_size, f.size) if part.is_file() else 0


def _fetch_one(
    f: RemoteFile, part: Path, advance: Callable[[int], None], cancel: threading.Event | None
) -> None:
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    offset = part.stat().st_size if part.is_file() else 0
    if offset > f.size:  # not ours any more: start over
        part.unlink()
        offset = 0
    if offset == f.size:
        return
    headers = build_hf_headers() if _same_host(f.url, hub_endpoint()) else {}
    headers["Accept-Encoding"] = "identity"
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        with get_session().stream(
            "GET", f.url, headers=headers, follow_redirects=True, timeout=TIMEOUT_S
        ) as response:
            hf_raise_for_status(response)
            with open(part, "ab" if offset else "wb") as out:
                if offset and response.status_code != 206:  # the server ignored the Range
                    advance(-offset)
                    out.truncate(0)
                    out.seek(0)
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    if cancel is not None and cancel.is_set():
                        raise DownloadCancelled("Download cancelled; run it again to resume.")
                    out.write(chunk)
                    advance(len(chunk))
                out.flush()
                os.fsync(out.fileno())
    except (DownloadCancelled, DownloadError):
        raise
    except Exception as exc:  # connection dropped, timeout, HTTP error
        raise DownloadError(
            f"The download of {f.filename} was interrupted ({_short(exc)}); "
            "run it again to resume where it stopped."
        ) from exc


def _verify(f: RemoteFile, part: Path) -> None:
    size = part.stat().st_size
    if size != f.size:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{f.filename} arrived with {size} bytes instead of {f.size}; it was discarded."
        )
    if SHA256.fullmatch(f.etag):
        digest = hashlib.sha256()
        with open(part, "rb") as fh:
            while block := fh.read(CHUNK_BYTES * 8):
                digest.update(block)
        if digest.hexdigest() != f.etag:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{f.filename} is corrupt (its checksum does not match the hub's); it was discarded."
            )


def clear_state(folder: Path) -> None:
    (folder / STATE_FILE).unlink(missing_ok=True)


def _read_state(folder: Path) -> dict[str, str]:
    try:
        value = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_state(folder: Path, state: dict[str, str]) -> None:
    (folder / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")


def _same_host(url: str, other: str) -> bool:
    return urlsplit(url).netloc == urlsplit(other).netloc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
