"""Which files the app treats as media: the extension filter and the recursive folder scan."""

from __future__ import annotations

import os
from pathlib import Path

from stenogram.core.media_errors import MediaUnreadableError

# Extensions the app offers in its open dialog, drop filter and folder scan. PyAV reads more;
# these are the ones people actually keep speech in.
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {
        # audio
        ".wav", ".wave", ".flac", ".mp3", ".m4a", ".m4b", ".aac", ".ogg", ".oga", ".opus",
        ".wma", ".aif", ".aiff", ".aifc", ".caf", ".amr", ".ac3", ".mka", ".weba", ".mp2",
        # video
        ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".flv", ".mpg", ".mpeg",
        ".ts", ".mts", ".m2ts", ".3gp", ".3g2", ".ogv",
    }
)  # fmt: skip


def is_supported_media(path: str | Path) -> bool:
    """Cheap check by extension, for drop filters and folder scans (does not open the file)."""
    p = Path(path)
    return p.suffix.lower() in SUPPORTED_EXTENSIONS and not p.name.startswith(".")


def find_media(folder: str | Path) -> list[Path]:
    """Every supported media file under `folder`, recursively, sorted, skipping hidden
    files and folders."""
    root = Path(folder)
    if not root.is_dir():
        raise MediaUnreadableError(root, f"“{root}” is not a folder that can be opened.")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            p = Path(dirpath) / name
            if is_supported_media(p) and p.is_file():
                found.append(p)
    return sorted(found)
