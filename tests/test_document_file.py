"""The .stenogram document and the media fingerprint it keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stenogram.core.document_file import (
    document_for,
    media_status,
    open_document,
    save_document,
)
from stenogram.core.formats import FormatError, OutputExistsError, read_transcript
from stenogram.core.media_hash import FULL_HASH_LIMIT, SAMPLE_BYTES, media_fingerprint

DATA = Path(__file__).parent / "data"


def test_document_round_trips_and_tracks_its_media(tmp_path: Path):
    media = tmp_path / "clip.flac"
    media.write_bytes(b"fLaC" + bytes(range(256)) * 10)
    t = read_transcript(DATA / "en_two_speakers.tiny_en.json")
    doc = document_for(t, media)
    assert doc.media_hash and doc.media_hash.startswith("sha256:")
    path = save_document(tmp_path / "call.stenogram", doc)
    back = open_document(path)
    assert back.transcript == t and back.media_path == str(media)
    assert media_status(back) == "ok"
    media.write_bytes(b"something else")
    assert media_status(back) == "changed"
    media.unlink()
    assert media_status(back) == "missing"
    with pytest.raises(OutputExistsError):
        save_document(path, doc, overwrite=False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"format": "other"}', "not a Stenogram document"),
        ('{"format": "stenogram-document", "version": 9}', "version 9"),
        ('{"format": "stenogram-document", "version": 1, "media": {"path": 3}}', "media"),
        ('{"format": "stenogram-document", "version": 1, "transcript": []}', "transcript"),
    ],
)
def test_bad_documents_give_a_clear_error(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.stenogram"
    path.write_text(content)
    with pytest.raises(FormatError, match=message):
        open_document(path)


def test_large_media_is_fingerprinted_from_samples_and_says_so(tmp_path: Path):
    big = tmp_path / "big.wav"
    size = FULL_HASH_LIMIT + 5 * SAMPLE_BYTES
    with open(big, "wb") as f:
        f.truncate(size)
    first = media_fingerprint(big)
    assert first.startswith("sha256-sampled:")
    with open(big, "r+b") as f:  # a change inside the middle sample is noticed
        f.seek((size - SAMPLE_BYTES) // 2 + 10)
        f.write(b"x")
    assert media_fingerprint(big) != first
    small = tmp_path / "small.wav"
    small.write_bytes(b"abc")
    assert media_fingerprint(small) == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_document_json_layout_is_documented_shape(tmp_path: Path):
    t = read_transcript(DATA / "en_two_speakers.tiny_en.json")
    path = save_document(tmp_path / "d.stenogram", document_for(t, None))
    raw = json.loads(path.read_text())
    assert raw["format"] == "stenogram-document" and raw["version"] == 1
    assert raw["media"] == {"path": "en_two_speakers.flac", "hash": None}
    assert raw["transcript"]["segments"][0]["words"][0][2].startswith(" ")
