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
    paths = _run_with_and_without_stand_in(script, "numba", tmp_path, ".npy")
    assert paths["numba"].tolist() == paths["stand-in"].tolist()


def _run_with_and_without_stand_in(script, real: str, tmp_path, suffix: str) -> dict:
    """Runs ``script MODE OUT`` with the real library and with the stand-in; loads each OUT."""
    loaded = {}
    for mode in (real, "stand-in"):
        out = tmp_path / f"{mode}{suffix}"
        done = subprocess.run([sys.executable, str(script), mode, str(out)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert ("stand-in" in done.stderr) == (mode == "stand-in")
        loaded[mode] = np.load(out)
    return loaded


def test_the_numpy_medfilt_stand_in_matches_scipy(tmp_path):
    """The bundle leaves scipy out (packaging/rthook_no_scipy.py); mlx_whisper's word timing
    then filters the attention weights with the stand-in, which must give scipy's values."""
    pytest.importorskip("scipy")
    script = tmp_path / "medfilt.py"
    script.write_text(
        "import runpy, sys, numpy as np\n"
        "if sys.argv[1] == 'stand-in':\n"
        "    sys.modules['scipy'] = None  # as in the bundle: no scipy to find, no numba\n"
        f"    runpy.run_path({str(PACKAGING / 'rthook_no_scipy.py')!r})\n"
        f"    runpy.run_path({str(PACKAGING / 'rthook_no_numba.py')!r})\n"
        "from stenogram.core.mlx_runtime import ensure_mlx\n"
        "ensure_mlx()\n"
        "from mlx_whisper.timing import median_filter\n"
        "import scipy\n"
        "print(scipy.__version__, file=sys.stderr)\n"
        "x = np.random.default_rng(3).random((6, 23, 180)).astype(np.float32)\n"
        "np.savez(sys.argv[2], heads=median_filter(x, 7), row=median_filter(x[0, 0], 3))\n"
    )
    filtered = _run_with_and_without_stand_in(script, "scipy", tmp_path, ".npz")
    for name in ("heads", "row"):
        assert np.array_equal(filtered["scipy"][name], filtered["stand-in"][name])


def test_orphan_libraries_of_removed_plugins_are_dropped_and_shared_ones_kept():
    import orphan_libs

    links = {
        "/w/gtk3.so": ["libcairo.so.2", "libglib.so.0"],
        "/w/libcairo.so.2": ["libpixman.so.0"],
        "/w/QtCore.so": ["libglib.so.0"],
    }
    kept = [("QtCore.so", "/w/QtCore.so", "EXTENSION"),
            ("libcairo.so.2", "/w/libcairo.so.2", "BINARY"),
            ("libpixman.so.0", "/w/libpixman.so.0", "BINARY"),
            ("libglib.so.0", "/w/libglib.so.0", "BINARY"),
            ("openblas/libopenblas.so.0", "/w/libopenblas.so.0", "BINARY"),  # loaded by path
            ("libcairo.so.2", "sub/libcairo.so.2", "SYMLINK")]
    removed = [("plugins/gtk3.so", "/w/gtk3.so", "BINARY")]
    left, dropped = orphan_libs.drop_orphans(kept, removed, lambda src: links.get(src, []))
    assert {d[0] for d in dropped} == {"libcairo.so.2", "libpixman.so.0"}
    assert len(dropped) == 3  # the symlink to cairo goes with it
    assert [e[0] for e in left] == ["QtCore.so", "libglib.so.0", "openblas/libopenblas.so.0"]


@pytest.mark.skipif(shutil.which("strip") is None or sys.platform != "linux",
                    reason="needs binutils' strip on Linux")
def test_stripped_copies_are_kept_only_when_smaller_and_loadable(tmp_path):
    # The _decimal extension of this Python has its symbol table; ctypes loads the copy.
    import _decimal
    import ctypes

    import strip_elf

    src = Path(_decimal.__file__)
    if not strip_elf.has_symbol_table(src):
        pytest.skip(f"{src} is stripped already")
    copy = strip_elf.stripped_copy(src, tmp_path / "stripped" / src.name)
    assert copy is not None and copy.stat().st_size < src.stat().st_size
    assert strip_elf.segments_aligned(copy) and not strip_elf.has_symbol_table(copy)
    ctypes.CDLL(str(copy))
    # Nothing to gain from a stripped file: no copy.
    assert strip_elf.stripped_copy(copy, tmp_path / "again" / src.name) is None
    # What binutils' strip makes of a patchelf-ed library (a segment whose offset and address
    # differ modulo the page size) is refused.
    broken = bytearray(copy.read_bytes())
    phoff = int.from_bytes(broken[0x20:0x28], "little")
    for i in range(int.from_bytes(broken[0x38:0x3A], "little")):
        entry = phoff + i * int.from_bytes(broken[0x36:0x38], "little")
        if int.from_bytes(broken[entry:entry + 4], "little") == 1:  # PT_LOAD
            broken[entry + 8:entry + 16] = (
                int.from_bytes(broken[entry + 8:entry + 16], "little") + 8).to_bytes(8, "little")
            break
    (tmp_path / "broken.so").write_bytes(bytes(broken))
    assert not strip_elf.segments_aligned(tmp_path / "broken.so")
