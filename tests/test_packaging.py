"""The parts of packaging/ that can be checked on any system, without building the app.

The built bundle itself is checked by packaging/smoke_test.sh (`make smoke`, run by `make test`).
"""

from __future__ import annotations

import os
import plistlib
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import stenogram

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))
import macos_bundle  # noqa: E402


def test_the_app_version_is_the_project_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert macos_bundle.project_version(ROOT) == version == stenogram.__version__


def test_info_plist_declares_what_macos_asks_for():
    info = macos_bundle.info_plist("1.2.3", "14.0")
    plistlib.loads(plistlib.dumps(info))  # every value is plist-able
    assert info["CFBundleIdentifier"] == "app.stenogram.Stenogram"
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == "1.2.3"
    assert info["LSMinimumSystemVersion"] == "14.0"
    assert info["NSHighResolutionCapable"] is True
    assert "microphone" in info["NSMicrophoneUsageDescription"]


def test_audio_video_and_subtitle_files_can_be_opened_with_the_app():
    from stenogram.ui.opening import DOCUMENT_EXTENSIONS

    info = macos_bundle.info_plist("1.0", "14.0")
    utis = {u for t in info["CFBundleDocumentTypes"] for u in t["LSItemContentTypes"]}
    assert {"public.audio", "public.movie"} <= utis
    declared = {d["UTTypeIdentifier"]: d for d in
                info["UTImportedTypeDeclarations"] + info["UTExportedTypeDeclarations"]}
    extensions = {"json"}  # public.json is a system type
    for uti in utis - {"public.audio", "public.movie", "public.json"}:
        extensions |= set(declared[uti]["UTTypeTagSpecification"]["public.filename-extension"])
    assert {e.lstrip(".") for e in DOCUMENT_EXTENSIONS} <= extensions


def test_minimum_macos_is_at_least_what_mlx_needs():
    major, minor = (int(p) for p in macos_bundle.min_macos().split("."))
    assert (major, minor) >= (13, 5)


def test_dmg_settings_hold_the_app_and_a_link_to_applications():
    settings = runpy.run_path(str(PACKAGING / "dmg_settings.py"),
                              init_globals={"defines": {"app": "dist/Stenogram.app"}})
    assert settings["files"] == ["dist/Stenogram.app"]
    assert settings["symlinks"] == {"Applications": "/Applications"}
    assert set(settings["icon_locations"]) == {"Stenogram.app", "Applications"}


def test_signing_is_skipped_cleanly_without_an_identity():
    env = {k: v for k, v in os.environ.items() if not k.startswith("STENOGRAM_SIGN")}
    done = subprocess.run([str(PACKAGING / "sign_and_notarize.sh"), "dist/Stenogram.app"],
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert "STENOGRAM_SIGN_IDENTITY is not set; skipping" in done.stdout


@pytest.mark.skipif(sys.platform == "darwin", reason="on macOS make dmg builds the image")
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_dmg_refuses_clearly_off_macos():
    done = subprocess.run(["make", "-s", "dmg"], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode != 0
    assert "needs macOS" in done.stderr


def test_the_plain_python_dtw_stand_in_matches_numba(tmp_path):
    """The bundle leaves numba out (packaging/rthook_no_numba.py); mlx_whisper's alignment
    must then find exactly the path numba's compiled version finds."""
    pytest.importorskip("numba")
    script = tmp_path / "dtw.py"
    script.write_text(
        "import runpy, sys, numpy as np\n"
        "if sys.argv[1] == 'stand-in':\n"
        f"    runpy.run_path({str(PACKAGING / 'rthook_no_numba.py')!r})\n"
        "from stenogram.core.mlx_runtime import ensure_mlx\n"
        "ensure_mlx()\n"
        "from mlx_whisper.timing import dtw\n"
        "import numba\n"
        "print(numba.__version__, file=sys.stderr)\n"
        "x = np.random.default_rng(7).random((23, 180)).astype(np.float32)\n"
        "np.save(sys.argv[2], dtw(x))\n"
    )
    paths = {}
    for mode in ("numba", "stand-in"):
        out = tmp_path / f"{mode}.npy"
        done = subprocess.run([sys.executable, str(script), mode, str(out)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert ("stand-in" in done.stderr) == (mode == "stand-in")
        paths[mode] = np.load(out)
    assert paths["numba"].tolist() == paths["stand-in"].tolist()
