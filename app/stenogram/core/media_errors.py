"""Typed errors for media decoding, each with one sentence a user understands."""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    """Base class: `user_message` names the file and says what went wrong in plain words;
    `detail` keeps the technical cause (ffmpeg's message) for logs."""

    def __init__(self, path: str | Path, user_message: str, detail: str = "") -> None:
        super().__init__(user_message if not detail else f"{user_message} ({detail})")
        self.path = Path(path)
        self.user_message = user_message
        self.detail = detail


class MediaUnreadableError(MediaError):
    """The path is missing, a folder, not a regular file, or not readable."""


class NotMediaError(MediaError):
    """The file is readable but is not audio or video (text, image, random bytes)."""


class NoAudioStreamError(MediaError):
    """A media file without any sound track (e.g. a silent screen recording)."""


class EmptyMediaError(MediaError):
    """The file, or its sound track, holds no audio at all."""


class CorruptMediaError(MediaError):
    """The file is damaged so badly that nothing could be decoded, or (strict mode)
    some of it could not be decoded. `report` says what was decoded and what was lost."""

    def __init__(
        self, path: str | Path, user_message: str, detail: str = "", report: object = None
    ) -> None:
        super().__init__(path, user_message, detail)
        self.report = report


class MediaVanishedError(MediaError):
    """The file was deleted, shrank or became unreadable while it was being decoded."""

    def __init__(
        self, path: str | Path, user_message: str, detail: str = "", decoded_ms: int = 0
    ) -> None:
        super().__init__(path, user_message, detail)
        self.decoded_ms = decoded_ms
