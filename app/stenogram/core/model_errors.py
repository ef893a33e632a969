"""Errors of the model store, the converter and the loader: one sentence a user understands."""

from __future__ import annotations


class ModelError(Exception):
    """A model cannot be read, converted, loaded or installed."""


class ModelNotFoundError(ModelError):
    """No installed model or model folder has that name."""


class DownloadError(ModelError):
    """A download from the model hub failed (network, server, or bad files)."""


class DownloadCancelled(ModelError):
    """The user cancelled a download; partial data is kept so a retry resumes."""
