"""The macOS .app's Info.plist, kept out of the spec so that a test can check it on any system.

``packaging/stenogram.spec`` passes ``info_plist(...)`` to PyInstaller's BUNDLE.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

NAME = "Stenogram"
BUNDLE_ID = "app.stenogram.Stenogram"
MLX_MIN_MACOS = (13, 5)  # MLX's Metal backend
MICROPHONE_USAGE = (
    "Stenogram records from the microphone for dictation and live transcription. "
    "The audio stays on this Mac."
)
# Subtitle and transcript files the window opens (stenogram.ui.opening.DOCUMENT_EXTENSIONS).
SUBTITLE_TYPES = (
    ("app.stenogram.srt", "SubRip subtitles", ("srt",), ("application/x-subrip",)),
    ("app.stenogram.vtt", "WebVTT subtitles", ("vtt", "webvtt"), ("text/vtt",)),
    ("app.stenogram.ass", "Advanced SubStation subtitles", ("ass", "ssa"), ()),
)
DOCUMENT_UTI = "app.stenogram.document"


def project_version(root: Path) -> str:
    """The version in pyproject.toml, the one source of the app's version."""
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def min_macos(distributions: tuple[str, ...] = ("mlx", "mlx-metal", "PySide6-Essentials")) -> str:
    """The newest macOS that MLX or the installed wheels ask for (a wheel built for macOS 14
    does not load on 13, so the app must not claim to run there)."""
    versions = [MLX_MIN_MACOS]
    for dist in distributions:
        try:
            wheel = importlib.metadata.distribution(dist).read_text("WHEEL") or ""
        except importlib.metadata.PackageNotFoundError:
            continue
        versions += [(int(a), int(b)) for a, b in re.findall(r"macosx_(\d+)_(\d+)_", wheel)]
    major, minor = max(versions)
    return f"{major}.{minor}"


def _document_type(name: str, utis: list[str], role: str = "Viewer", rank: str = "Alternate") -> dict:
    return {"CFBundleTypeName": name, "CFBundleTypeRole": role, "LSHandlerRank": rank,
            "LSItemContentTypes": utis}


def _type_declaration(uti: str, description: str, extensions: tuple[str, ...],
                      mime_types: tuple[str, ...], conforms_to: list[str]) -> dict:
    tags: dict[str, list[str]] = {"public.filename-extension": list(extensions)}
    if mime_types:
        tags["public.mime-type"] = list(mime_types)
    return {"UTTypeIdentifier": uti, "UTTypeDescription": description,
            "UTTypeConformsTo": conforms_to, "UTTypeTagSpecification": tags}


def info_plist(version: str, minimum_macos: str) -> dict:
    """The keys PyInstaller adds to the .app's Info.plist."""
    subtitle_utis = [uti for uti, *_ in SUBTITLE_TYPES]
    return {
        "CFBundleName": NAME,
        "CFBundleDisplayName": NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "LSMinimumSystemVersion": minimum_macos,
        "LSApplicationCategoryType": "public.app-category.productivity",
        "NSHighResolutionCapable": True,
        "NSSupportsAutomaticGraphicsSwitching": True,
        "NSMicrophoneUsageDescription": MICROPHONE_USAGE,
        "NSHumanReadableCopyright": "Stenogram contributors, MIT licence",
        # So audio, video and subtitle files can be dropped on the Dock icon and opened with
        # the app (Qt turns the "open document" events into QFileOpenEvent).
        "CFBundleDocumentTypes": [
            _document_type("Audio", ["public.audio"]),
            _document_type("Video", ["public.movie"]),
            _document_type("Subtitles", subtitle_utis, role="Editor"),
            _document_type("Transcript (JSON)", ["public.json"], role="Viewer"),
            _document_type("Stenogram document", [DOCUMENT_UTI], role="Editor", rank="Owner"),
        ],
        # Subtitle formats have no system UTI on every macOS version: imported declarations
        # give them one (a system or another app's declaration wins); ours is exported.
        "UTImportedTypeDeclarations": [
            _type_declaration(uti, description, extensions, mimes, ["public.plain-text"])
            for uti, description, extensions, mimes in SUBTITLE_TYPES
        ],
        "UTExportedTypeDeclarations": [
            _type_declaration(DOCUMENT_UTI, "Stenogram document", ("stenogram",), (),
                              ["public.data", "public.content"]),
        ],
    }
