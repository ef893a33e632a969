"""The portable ``.stenogram`` document: a transcript with a reference to its media, as JSON.

Layout (version 1)::

    {
      "format": "stenogram-document",
      "version": 1,
      "media": {"path": "/Users/me/interview.m4a" | null,
                "hash": "sha256:…" | "sha256-sampled:…" | null},   # see media_hash
      "transcript": { …the transcript JSON of transcript_json… }
    }

The media is referenced, never embedded. On opening, ``media_status`` tells whether the
recording is still where it was and still the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from stenogram.core import transcript_json
from stenogram.core.formats import FormatError, atomic_write_bytes, decode_text
from stenogram.core.media_hash import media_fingerprint
from stenogram.core.transcript import Transcript

DOCUMENT_FORMAT = "stenogram-document"
DOCUMENT_VERSION = 1
DOCUMENT_SUFFIX = ".stenogram"

MediaStatus = Literal["ok", "missing", "changed", "unknown"]


@dataclass(slots=True)
class Document:
    transcript: Transcript
    media_path: str | None = None
    media_hash: str | None = None


def save_document(path: str | Path, doc: Document, *, overwrite: bool = True) -> Path:
    """Write the document atomically (saving over one's own document is the normal case)."""
    data = {
        "format": DOCUMENT_FORMAT,
        "version": DOCUMENT_VERSION,
        "media": {"path": doc.media_path, "hash": doc.media_hash},
        "transcript": transcript_json.to_dict(doc.transcript),
    }
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def document_for(transcript: Transcript, media_path: str | Path | None = None) -> Document:
    """A document for a transcript, fingerprinting its media when the file is there."""
    media = media_path if media_path is not None else transcript.media_path
    digest = None
    if media is not None and Path(media).is_file():
        digest = media_fingerprint(media)
    return Document(transcript, None if media is None else str(media), digest)


def open_document(path: str | Path) -> Document:
    """Read a ``.stenogram`` file; FormatError says what is wrong with a bad one."""
    path = Path(path)
    try:
        raw = json.loads(decode_text(path.read_bytes()))
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg})", exc.lineno, path) from exc
    except RecursionError as exc:
        raise FormatError("the JSON is nested too deeply", None, path) from exc
    if not isinstance(raw, dict) or raw.get("format") != DOCUMENT_FORMAT:
        raise FormatError("this is not a Stenogram document", None, path)
    if raw.get("version") != DOCUMENT_VERSION:
        raise FormatError(f"document version {raw.get('version')!r} is not supported; update "
                          "Stenogram to open it", None, path)
    media = raw.get("media") or {}
    if not isinstance(media, dict) or not all(
            isinstance(media.get(k), str | None) for k in ("path", "hash")):
        raise FormatError("'media' must hold a path and a hash (text or null)", None, path)
    try:
        transcript = transcript_json.from_dict(raw.get("transcript"))
    except transcript_json.SchemaError as exc:
        raise FormatError(f"transcript: {exc}", None, path) from exc
    return Document(transcript, media.get("path"), media.get("hash"))


def media_status(doc: Document) -> MediaStatus:
    """Whether the referenced recording is still there and still the same file."""
    if doc.media_path is None:
        return "unknown"
    media = Path(doc.media_path)
    if not media.is_file():
        return "missing"
    if doc.media_hash is None:
        return "unknown"
    return "ok" if media_fingerprint(media) == doc.media_hash else "changed"
