"""A content fingerprint of a media file, cheap even for multi-gigabyte recordings.

Files up to ``FULL_HASH_LIMIT`` are hashed whole: ``sha256:<hex>``. Larger files hash their
size plus three samples (start, middle, end, ``SAMPLE_BYTES`` each): ``sha256-sampled:<hex>``.
The prefix says which, so a full hash is never compared with a sampled one by mistake. A
sampled hash notices re-encodes, trims and other files; it can miss an edit in the middle of a
huge file that keeps its size, which is acceptable for "is this still the same recording?".
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SAMPLE_BYTES = 4 * 1024 * 1024  # 4 MiB per sample
FULL_HASH_LIMIT = 3 * SAMPLE_BYTES  # 12 MiB: below this, reading it all costs about the same
_CHUNK = 1024 * 1024


def media_fingerprint(path: str | Path) -> str:
    """``sha256:…`` of the whole file, or ``sha256-sampled:…`` for large files."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        if size <= FULL_HASH_LIMIT:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
            return f"sha256:{digest.hexdigest()}"
        digest.update(str(size).encode())
        for offset in (0, (size - SAMPLE_BYTES) // 2, size - SAMPLE_BYTES):
            f.seek(offset, os.SEEK_SET)
            digest.update(f.read(SAMPLE_BYTES))
    return f"sha256-sampled:{digest.hexdigest()}"
