"""`stenogram transcribe` end to end: a batch with a broken file, every format, the library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from stenogram.cli import main
from stenogram.core.library import Library


def test_batch_with_a_broken_file(tiny_en, shared_audio, tmp_path, capsys):
    shutil.copy(shared_audio / "jfk.flac", tmp_path / "jfk.flac")
    (tmp_path / "broken.mp3").write_bytes(b"ID3" + os.urandom(2000))
    shutil.copy(shared_audio / "en_ls_2830-3980-0000.flac", tmp_path / "paul.flac")
    out = tmp_path / "out"

    code = main(
        ["transcribe", str(tmp_path / "jfk.flac"), str(tmp_path / "broken.mp3"), str(tmp_path / "paul.flac"),
         "--model", str(tiny_en), "--format", "srt,txt,json", "-o", str(out)]
    )

    assert code == 1  # one file failed
    err = capsys.readouterr().err
    assert "broken.mp3: failed:" in err and "2 of 3 files transcribed" in err
    assert "ask not what your country can do for you" in (out / "jfk.txt").read_text()
    assert "Saint Paul" in (out / "paul.txt").read_text() or "St. Paul" in (out / "paul.txt").read_text()
    srt = (out / "jfk.srt").read_text()
    assert srt.startswith("1\n00:00:00,") and "-->" in srt
    assert all(len(line) <= 42 for line in srt.splitlines())  # shaped for reading
    document = json.loads((out / "jfk.json").read_text())
    assert document["language"] == "en" and document["segments"][0]["words"]
    assert not (out / "broken.txt").exists()

    with Library.open() as library:
        jobs = {os.path.basename(j.media_path): j for j in library.list_jobs()}
        assert jobs["broken.mp3"].status == "failed" and "broken.mp3" in jobs["broken.mp3"].error
        assert jobs["jfk.flac"].status == "done"
        hits = library.search("country")
        assert hits and hits[0].start_ms < 11_000


def test_refuses_to_overwrite_unless_asked(tiny_en, shared_audio, tmp_path, capsys):
    clip = tmp_path / "paul.flac"
    shutil.copy(shared_audio / "en_ls_2830-3980-0000.flac", clip)
    (tmp_path / "paul.txt").write_text("my notes")
    args = ["transcribe", str(clip), "--model", str(tiny_en), "--no-library"]
    assert main(args) == 1
    assert (tmp_path / "paul.txt").read_text() == "my notes"
    assert main([*args, "--overwrite"]) == 0
    assert "Paul" in (tmp_path / "paul.txt").read_text()


def test_console_script_runs_in_a_fresh_process(tiny_en, shared_audio, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "stenogram", "transcribe", str(shared_audio / "en_ls_6930-75918-0000.flac"),
         "--model", str(tiny_en), "--format", "vtt", "-o", str(tmp_path), "--no-library"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    vtt = (tmp_path / "en_ls_6930-75918-0000.vtt").read_text()
    # tiny.en hears the last word as "tents" or "tense" depending on the padding it gets
    assert vtt.startswith("WEBVTT") and "returned to its place" in vtt.lower()


def test_a_model_given_before_the_command_is_not_silently_ignored(tmp_path, capsys):
    """`--model` before `transcribe` only ever chose --self-test's model: a user who wrote
    `stenogram --model base transcribe …` got tiny.en without a word."""
    import pytest

    with pytest.raises(SystemExit) as exited:
        main(["--model", "base", "transcribe", str(tmp_path / "speech.wav")])
    assert exited.value.code == 2
    assert "stenogram transcribe --model MODEL FILE" in capsys.readouterr().err
