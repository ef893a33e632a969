"""`stenogram library|subtitles|convert` on real files and a real library."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest

from stenogram.core.formats import parse, read_transcript, render, write_transcript
from stenogram.core.library import Library
from stenogram.core.subtitles import SubtitleRules, cues_from_transcript, validate

DATA = Path(__file__).parent / "data"
MINE = ("stenogram.commands.library", "stenogram.commands.subtitles", "stenogram.commands.convert")


def run(*argv: str) -> int:
    """Our commands through the real parser code (the other areas' commands may not exist yet,
    so the full CLI is exercised separately below)."""
    parser = argparse.ArgumentParser(prog="stenogram")
    sub = parser.add_subparsers(dest="command")
    for name in MINE:
        importlib.import_module(name).register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_registers_the_document_commands():
    from stenogram import cli

    assert set(MINE) <= set(cli.COMMAND_MODULES)
    try:
        parser = cli.build_parser()
    except ModuleNotFoundError as exc:
        pytest.skip(f"another area's command module is not there yet: {exc.name}")
    assert parser.parse_args(["convert", "a.srt", "b.vtt"]).func is not None


def test_convert_by_extension_and_refuses_to_overwrite(tmp_path: Path, capsys):
    src = tmp_path / "in.json"
    write_transcript(read_transcript(DATA / "en_two_speakers.tiny_en.json"), src)
    assert run("convert", str(src), str(tmp_path / "out.vtt")) == 0
    vtt = (tmp_path / "out.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "Diane in New Jersey" in vtt
    assert run("convert", str(src), str(tmp_path / "out.vtt")) == 1
    assert "already exists" in capsys.readouterr().err
    assert run("convert", str(src), str(tmp_path / "out.vtt"), "--overwrite") == 0
    assert run("convert", str(tmp_path / "out.vtt"), str(tmp_path / "back.txt"),
               "--timestamps") == 0
    assert (tmp_path / "back.txt").read_text().startswith("[00:00:06.")


def test_convert_reports_bad_input_with_its_line(tmp_path: Path, capsys):
    bad = tmp_path / "bad.srt"
    bad.write_text("1\n00:00:01,000 to 00:00:02,000\nhi\n")
    assert run("convert", str(bad), str(tmp_path / "x.vtt")) == 1
    message = capsys.readouterr().err
    assert "bad.srt: line 2: expected a time line" in message and "Traceback" not in message
    assert run("convert", str(tmp_path / "missing.srt"), str(tmp_path / "x.vtt")) == 1
    assert run("convert", str(bad), str(tmp_path / "x.docx")) == 1


def test_subtitles_shape_meets_the_rules_given(tmp_path: Path, capsys):
    src = tmp_path / "long.srt"
    write_transcript(read_transcript(DATA / "en_long_librispeech.tiny_en.json"), src)
    out = tmp_path / "shaped.srt"
    assert run("subtitles", "shape", str(src), "-o", str(out), "--max-chars", "30",
               "--max-lines", "2", "--max-cps", "20", "--min-duration", "1",
               "--max-duration", "6") == 0
    cues = cues_from_transcript(read_transcript(out))
    assert all(len(line) <= 30 for c in cues for line in c.lines)
    assert all(len(c.lines) <= 2 for c in cues)
    assert "cues to" in capsys.readouterr().err
    rules = SubtitleRules(max_chars_per_line=30, max_cps=20, min_duration_ms=1000,
                          max_duration_ms=6000)
    leftover = {v.rule for v in validate(cues, rules)}
    assert leftover <= {"max_cps", "min_duration"}  # only where the timing leaves no room
    # check reports what the original breaks
    assert run("subtitles", "check", str(src)) == 1
    assert "max_chars" in capsys.readouterr().out


def test_library_list_search_export(tmp_path: Path, capsys):
    db = tmp_path / "lib.sqlite3"
    t = read_transcript(DATA / "en_long_librispeech.tiny_en.json")
    with Library(db) as lib:
        tid = lib.add_transcript(t, title="Readers")
    assert run("library", "--db", str(db), "list") == 0
    assert f"{tid}\t" in capsys.readouterr().out
    assert run("library", "--db", str(db), "search", "shelley") == 0
    line = capsys.readouterr().out.strip()
    assert "[Shelley]" in line and "0:00:32" in line
    assert run("library", "--db", str(db), "search", "zebra") == 1
    assert run("library", "--db", str(db), "export", str(tid), "--format", "srt") == 0
    printed = capsys.readouterr().out
    assert printed == render(t, "srt") and parse(printed, "srt").segments
    assert run("library", "--db", str(db), "export", str(tid), "-o",
               str(tmp_path / "t.json")) == 0
    assert read_transcript(tmp_path / "t.json") == t
    assert run("library", "--db", str(db), "export", "42") == 1
    assert "no transcript 42" in capsys.readouterr().err


def test_library_uses_the_data_folder_by_default(stenogram_home: Path, capsys):
    assert run("library", "list") == 0
    assert "empty" in capsys.readouterr().err
    assert (stenogram_home / "library.sqlite3").exists()
