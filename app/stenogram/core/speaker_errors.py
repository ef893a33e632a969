"""Errors of speaker labelling: each carries one sentence a user understands."""

from __future__ import annotations


class DiarizationError(Exception):
    """Speaker labelling failed; ``user_message`` says why in plain words."""

    @property
    def user_message(self) -> str:
        return str(self)


class SpeakerModelError(DiarizationError):
    """The voice model (Resemblyzer's weights) is missing or unreadable."""


class DiarizationCancelled(DiarizationError):
    """The user cancelled speaker labelling."""

    def __init__(self, message: str = "Speaker labelling was cancelled.") -> None:
        super().__init__(message)
