"""The core stays Qt-free, and importing it stays cheap."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import stenogram.core

CORE = Path(stenogram.core.__file__).parent
FORBIDDEN = ("PySide6", "shiboken6", "stenogram.ui")


def _core_modules() -> list[str]:
    return sorted(f"stenogram.core.{m.name}" for m in pkgutil.iter_modules([str(CORE)]))


def test_no_core_module_mentions_qt_in_an_import():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt_and_no_torch():
    modules = _core_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = [m for m in sys.modules if m.startswith({FORBIDDEN!r}) or m.split('.')[0] == 'torch']\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_command_line_starts_without_mlx_or_qt():
    """`stenogram --help` must not pay for MLX or Qt."""
    code = (
        "import sys\n"
        "from stenogram.cli import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('mlx', 'mlx_whisper', 'PySide6', 'torch')]\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OpenBLAS is preloaded on Linux only")
def test_openblas_is_loaded_before_mlx_whoever_imports_it():
    """MLX binds BLAS when first imported: a late preload leaves it 50-70x slower."""
    code = (
        "import stenogram.core.transcript\n"  # any core module, then MLX through mlx_whisper
        "import mlx_whisper.decoding\n"
        "maps = open('/proc/self/maps').read()\n"
        "print('openblas' in maps)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "True", result.stderr


def test_files_open_in_the_app_and_commands_run_the_cli():
    from stenogram.__main__ import wants_command_line
    from stenogram.cli import COMMAND_NAMES, build_parser

    registered = set(build_parser()._subparsers._group_actions[0].choices)
    assert registered == set(COMMAND_NAMES)
    assert wants_command_line(["transcribe", "a.wav"]) and wants_command_line(["--self-test"])
    assert not wants_command_line(["talk.mp4"]) and not wants_command_line([])
