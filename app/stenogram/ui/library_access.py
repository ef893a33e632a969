"""The app's few uses of the core library, in one place: save, load, search, autosave.

Qt-free (when to autosave is `QtAutosave`'s business). Each function opens the library
lazily (one shared instance per process) so the
window starts without touching SQLite.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_library: Any = None


def library() -> Any:
    """The shared Library, or None where the library module is absent."""
    global _library
    with _lock:
        if _library is None:
            try:
                from stenogram.core.library import Library
            except ImportError:
                return None
            _library = Library.open()
        return _library


def reset() -> None:
    """Forget the shared instance (tests point STENOGRAM_HOME elsewhere between runs)."""
    global _library
    with _lock:
        if _library is not None and hasattr(_library, "close"):
            _library.close()
        _library = None


def _title(transcript: Any) -> str | None:
    return Path(transcript.media_path).name if transcript.media_path else None


def save_transcript(transcript: Any) -> Any:
    lib = library()
    return None if lib is None else lib.add_transcript(transcript, title=_title(transcript))


def load_transcript(transcript_id: Any) -> Any:
    lib = library()
    if lib is None:
        raise LookupError("The library is not available.")
    return lib.load(transcript_id)


@dataclass(frozen=True)
class Hit:
    transcript_id: Any
    title: str
    at_ms: int | None
    snippet: str


def _name(info: Any) -> str:
    if info.title:
        return info.title
    return Path(info.media_path).name if info.media_path else f"Transcript {info.id}"


def recent(limit: int = 200) -> list[Hit]:
    lib = library()
    if lib is None:
        return []
    hits = []
    for info in lib.list_transcripts()[:limit]:
        minutes = (info.duration_ms or 0) / 60000
        detail = f"{info.segment_count} segments · {minutes:.0f} min · {info.modified:%Y-%m-%d %H:%M}"
        hits.append(Hit(info.id, _name(info), None, detail))
    return hits


def search(query: str, limit: int = 200) -> list[Hit]:
    lib = library()
    if lib is None or not query.strip():
        return []
    names = {info.id: _name(info) for info in lib.list_transcripts()}
    return [Hit(h.transcript_id, names.get(h.transcript_id, h.title or "?"), h.start_ms, h.snippet)
            for h in lib.search(query, limit=limit)]


class NoAutosave:
    """Stands in where there is no library or the transcript is not stored in it."""

    def close(self) -> None:
        pass

    def flush(self) -> None:
        pass


def save_changes(transcript_id: Any, transcript: Any) -> None:
    """Write what changed since the last save (the library diffs the segments itself)."""
    lib = library()
    if lib is not None and transcript_id is not None:
        lib.save(transcript_id, transcript)


def save_now(editor: Any) -> str:
    """Save the editor's transcript now; the status-bar sentence."""
    autosave = getattr(editor, "autosave", None)
    if editor.transcript_id is None:
        editor.transcript_id = save_transcript(editor.transcript)
        if editor.transcript_id is None:
            return "There is no library to save into; use Export to write a file."
        editor.autosave.attach(editor.transcript_id)
        editor.history.mark_clean()
        return "Saved to the library."
    if autosave is not None:
        autosave.flush()
    editor.history.mark_clean()
    return "Saved (edits are also saved as you make them)."
