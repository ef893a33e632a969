"""What the window does with a path, and the few core look-ups it needs, kept Qt-free.

Media files become jobs, transcript files open in the editor, folders are searched for media,
anything else is refused with a sentence that says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOCUMENT_EXTENSIONS = (".srt", ".vtt", ".webvtt", ".ass", ".ssa", ".json", ".stenogram")


def sort_paths(paths: list[Path]) -> tuple[list[Path], list[Path], list[str]]:
    """(media files, transcript documents, refusal reasons) for dropped/opened paths."""
    from stenogram.core.media_errors import MediaError
    from stenogram.core.media_files import find_media, is_supported_media

    media: list[Path] = []
    documents: list[Path] = []
    refused: list[str] = []
    for path in paths:
        if path.is_dir():
            try:
                found = find_media(path)
            except MediaError as exc:
                refused.append(exc.user_message)
                continue
            if not found:
                refused.append(f"“{path.name}” holds no audio or video files Stenogram can read.")
            media.extend(found)
        elif not path.exists():
            refused.append(f"“{path.name}” does not exist (it may have been moved or deleted).")
        elif is_supported_media(path):
            media.append(path)
        elif path.suffix.lower() in DOCUMENT_EXTENSIONS:
            documents.append(path)
        else:
            kind = f"“{path.suffix}” files" if path.suffix else "files without an extension"
            refused.append(f"“{path.name}” was not opened: Stenogram reads audio and video, and "
                           f"subtitle or transcript files, but not {kind}.")
    return media, documents, refused


def read_document(path: Path) -> Any:
    """A Transcript from a subtitle/JSON file or a .stenogram document."""
    if path.suffix.lower() == ".stenogram":
        from stenogram.core.document_file import open_document

        doc = open_document(path)
        if doc.media_path and not doc.transcript.media_path:
            doc.transcript.media_path = doc.media_path
        return doc.transcript
    from stenogram.core.formats import read_transcript

    return read_transcript(path)


def installed_model_names() -> list[str]:
    """Names of the models in the store; empty when the store cannot be read."""
    try:
        from stenogram.core.models import ModelStore

        return [m.name for m in ModelStore().list_installed()]
    except Exception:  # noqa: BLE001 — a broken store must not stop the window from opening
        return []


def rules_from_settings(settings: Any) -> Any:
    from stenogram.core.subtitles import SubtitleRules
    from stenogram.ui import settings as S

    try:
        return SubtitleRules(
            max_chars_per_line=settings.get(S.SUB_MAX_CHARS),
            max_lines=settings.get(S.SUB_MAX_LINES),
            max_cps=settings.get(S.SUB_MAX_CPS),
            min_duration_ms=settings.get(S.SUB_MIN_DURATION_MS),
            max_duration_ms=settings.get(S.SUB_MAX_DURATION_MS),
        )
    except ValueError:  # stored values that no longer make sense: the defaults
        return SubtitleRules()
