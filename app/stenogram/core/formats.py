"""Transcripts in and out of files: one writer per format behind a registry, and importers.

Export: SRT, WebVTT, ASS/SSA (through pysubs2), TXT, TSV (whisper's ``start\\tend\\ttext`` in
ms) and our JSON (``transcript_json``: keeps everything, round-trips exactly).
Import: SRT, WebVTT, ASS/SSA and our JSON. Input may be UTF-8 with or without BOM, UTF-16 or
UTF-32 with a BOM, else Latin-1. Malformed input raises ``FormatError`` naming the line.

Speakers appear as ``Name: text`` in SRT, TXT and TSV, as ``<v Name>`` in WebVTT and as the
event's Name field in ASS. Writers ignore options they have no use for, so one set of CLI
options works for every format. Every write is atomic and refuses to overwrite unless asked.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import os
import re
import stat
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysubs2

from stenogram.core import transcript_json
from stenogram.core.transcript import Segment, Transcript

_NEWLINE = re.compile(r"\r\n|\r|\n")


class FormatError(ValueError):
    """A file we cannot read or a format we do not know. ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None, path: str | Path | None = None):
        self.line, self.path, self.reason = line, path, message
        where = f"{path}: " if path else ""
        at = f"line {line}: " if line else ""
        super().__init__(f"{where}{at}{message}")


class OutputExistsError(FileExistsError):
    """The output file exists and overwriting was not asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path} already exists; choose another name or allow overwriting.")


# --- text encodings -----------------------------------------------------------------------

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_text(data: bytes) -> str:
    """Decode a subtitle file: a BOM decides, else UTF-8, else Latin-1 (never fails)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise FormatError(f"the file says it is {codec} but is not ({exc.reason})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --- atomic writes ------------------------------------------------------------------------


def atomic_write_bytes(path: str | Path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write via a temporary file in the same folder: flush, fsync, then rename into place,
    so a crash leaves either the old file or the new one, never half of one."""
    path = Path(path)
    if not overwrite and path.exists():
        raise OutputExistsError(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode(path))  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:  # link() fails if the name appeared meanwhile: no race with another writer
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError(path) from None
            except OSError:  # file systems without hard links
                if path.exists():
                    raise OutputExistsError(path) from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return path


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask


def _file_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)  # overwriting keeps the file's permissions
    except OSError:
        return 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every platform; the rename stands
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- time stamps --------------------------------------------------------------------------


def format_timestamp(ms: int, sep: str = ",", always_hours: bool = True) -> str:
    ms = max(0, int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    head = f"{hours:02d}:" if always_hours or hours else ""
    return f"{head}{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


_SRT_TIME = r"(\d{1,6}):([0-5]?\d):([0-5]?\d)[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}(?:\s.*)?$")
_VTT_TIME = r"(?:(\d{1,6}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^\s*{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t].*)?$")


def _ms(h: str | None, m: str, s: str, frac: str) -> int:
    return ((int(h or 0) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac.ljust(3, "0"))


def _speaker_prefix(seg: Segment, speakers: bool) -> str:
    return f"{seg.speaker}: " if speakers and seg.speaker else ""


def _cue_text(seg: Segment) -> str:
    return seg.text.strip()


# --- building transcripts from imported cues ----------------------------------------------


def _transcript_from_cues(cues: list[Segment]) -> Transcript:
    """Sort cues by time and cut overlaps (common in the wild) so the invariants hold."""
    cues = sorted(cues, key=lambda c: c.start_ms)
    fixed: list[Segment] = []
    for i, cue in enumerate(cues):
        end = cue.end_ms
        if i + 1 < len(cues) and end > cues[i + 1].start_ms:
            end = max(cue.start_ms, cues[i + 1].start_ms)
        fixed.append(cue if end == cue.end_ms else Segment(cue.start_ms, end, cue.text, (),
                                                             cue.speaker))
    return Transcript(segments=fixed)


# --- SRT ----------------------------------------------------------------------------------


def render_srt(t: Transcript, *, speakers: bool = True) -> str:
    out: list[str] = []
    n = 0
    for seg in t.segments:
        text = _cue_text(seg)
        if not text:
            continue
        n += 1
        out.append(f"{n}\n{format_timestamp(seg.start_ms)} --> {format_timestamp(seg.end_ms)}\n"
                   f"{_speaker_prefix(seg, speakers)}{text}\n\n")
    return "".join(out)


def _describe(lines: list[str], i: int) -> str:
    if i < len(lines) and lines[i].strip():
        return repr(lines[i][:60])
    if all(not line.strip() for line in lines[i:]):
        return "the end of the file"
    return "an empty line"


def parse_srt(text: str) -> Transcript:
    lines = _NEWLINE.split(text.removeprefix("\ufeff"))
    cues: list[Segment] = []
    i, n = 0, len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        if not _SRT_TIMING.match(lines[i]):  # the cue number (some files omit it)
            if not lines[i].strip().isdigit():
                raise FormatError(f"expected a cue number, found {lines[i][:60]!r}", i + 1)
            i += 1
        if i >= n or not (m := _SRT_TIMING.match(lines[i])):
            raise FormatError("expected a time line like '00:00:01,000 --> 00:00:02,500', "
                              f"found {_describe(lines, i)}", i + 1)
        start, end = _ms(*m.group(1, 2, 3, 4)), _ms(*m.group(5, 6, 7, 8))
        if end < start:
            raise FormatError("the cue ends before it starts", i + 1)
        i += 1
        body: list[str] = []
        while i < n and lines[i].strip():
            body.append(lines[i])
            i += 1
        cues.append(Segment(start, end, "\n".join(body)))
    return _transcript_from_cues(cues)


# --- WebVTT -------------------------------------------------------------------------------


def render_vtt(t: Transcript, *, speakers: bool = True) -> str:
    out = ["WEBVTT\n\n"]
    for seg in t.segments:
        text = _cue_text(seg)
        if not text:
            continue
        body = html.escape(text, quote=False)
        if speakers and seg.speaker:
            body = f"<v {html.escape(seg.speaker, quote=False)}>{body}"
        out.append(f"{format_timestamp(seg.start_ms, '.')} --> "
                   f"{format_timestamp(seg.end_ms, '.')}\n{body}\n\n")
    return "".join(out)


_VOICE = re.compile(r"^<v(?:\.[^ \t>]*)?[ \t]+([^>]*)>")
_TAG = re.compile(r"<[^>\n]*>")


def parse_vtt(text: str) -> Transcript:
    lines = _NEWLINE.split(text.removeprefix("\ufeff"))
    if not lines[0].startswith("WEBVTT"):
        raise FormatError("a WebVTT file must start with 'WEBVTT'", 1)
    cues: list[Segment] = []
    i, n = 1, len(lines)
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block: list[str] = []
        while i < n and lines[i].strip():
            block.append(lines[i])
            i += 1
        head = block[0].split(maxsplit=1)[0] if block[0].split() else ""
        if head in ("NOTE", "STYLE", "REGION"):
            continue
        t_at = 0 if "-->" in block[0] else 1  # an optional cue identifier comes first
        if t_at >= len(block) or not (m := _VTT_TIMING.match(block[t_at])):
            raise FormatError("expected a time line like '00:01.000 --> 00:02.500', found "
                              f"{block[min(t_at, len(block) - 1)][:60]!r}", block_start + t_at + 1)
        start, end = _ms(*m.group(1, 2, 3, 4)), _ms(*m.group(5, 6, 7, 8))
        if end < start:
            raise FormatError("the cue ends before it starts", block_start + t_at + 1)
        body = "\n".join(block[t_at + 1 :])
        speaker = None
        if v := _VOICE.match(body):
            speaker = html.unescape(v.group(1).strip()) or None
        body = html.unescape(_TAG.sub("", body))
        cues.append(Segment(start, end, body, speaker=speaker))
    return _transcript_from_cues(cues)


# --- ASS / SSA (pysubs2) ------------------------------------------------------------------


def _render_ssa(t: Transcript, fmt: str) -> str:
    subs = pysubs2.SSAFile()
    for seg in t.segments:
        text = _cue_text(seg)
        if text:
            subs.append(pysubs2.SSAEvent(start=seg.start_ms, end=seg.end_ms,
                                         text=text.replace("\n", "\\N"), name=seg.speaker or ""))
    return subs.to_string(fmt)


def render_ass(t: Transcript) -> str:
    return _render_ssa(t, "ass")


def render_ssa(t: Transcript) -> str:
    return _render_ssa(t, "ssa")


_ASS_TIME = re.compile(r"^\s*\d+:\d{1,2}:\d{1,2}(?:[.:]\d+)?\s*$")


def _check_ssa_events(lines: list[str]) -> None:
    """pysubs2 is lenient and names no line: check the events ourselves first."""
    fields: list[str] | None = None
    section = ""
    for no, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped.lower()
        elif section == "[events]" and stripped.lower().startswith("format:"):
            fields = [f.strip().lower() for f in stripped.split(":", 1)[1].split(",")]
        elif section == "[events]" and stripped.lower().startswith("dialogue:"):
            if fields is None:
                raise FormatError("a Dialogue line comes before the events' Format line", no)
            values = stripped.split(":", 1)[1].split(",", len(fields) - 1)
            if len(values) < len(fields):
                raise FormatError(f"a Dialogue line needs {len(fields)} fields, found "
                                  f"{len(values)}", no)
            for name in ("start", "end"):
                if name in fields and not _ASS_TIME.match(values[fields.index(name)]):
                    raise FormatError(f"the {name} time {values[fields.index(name)]!r} is not "
                                      "like 0:00:01.00", no)
    if fields is None:
        raise FormatError("no [Events] section with a Format line was found")


def parse_ass(text: str) -> Transcript:
    text = text.removeprefix("\ufeff")
    _check_ssa_events(_NEWLINE.split(text))
    try:
        with warnings.catch_warnings():  # pysubs2 warns about odd style fields it defaults
            warnings.simplefilter("ignore")
            subs = pysubs2.SSAFile.from_string(text)
    except Exception as exc:  # pysubs2 raises many kinds; the user needs one sentence
        raise FormatError(f"not a readable ASS/SSA file ({exc})") from exc
    cues = [Segment(max(0, e.start), max(0, e.start, e.end), e.plaintext, speaker=e.name or None)
            for e in subs.events if not e.is_comment]
    return _transcript_from_cues(cues)


# --- TXT, TSV, JSON -----------------------------------------------------------------------


def render_txt(t: Transcript, *, timestamps: bool = False, speakers: bool = True) -> str:
    out: list[str] = []
    for seg in t.segments:
        text = _cue_text(seg).replace("\n", " ")
        if not text:
            continue
        stamp = (f"[{format_timestamp(seg.start_ms, '.')} --> "
                 f"{format_timestamp(seg.end_ms, '.')}] " if timestamps else "")
        out.append(f"{stamp}{_speaker_prefix(seg, speakers)}{text}\n")
    return "".join(out)


def render_tsv(t: Transcript, *, speakers: bool = True) -> str:
    out = ["start\tend\ttext\n"]
    for seg in t.segments:
        text = re.sub(r"[\t\r\n]+", " ", _cue_text(seg))
        if text:
            out.append(f"{seg.start_ms}\t{seg.end_ms}\t{_speaker_prefix(seg, speakers)}{text}\n")
    return "".join(out)


def render_json(t: Transcript) -> str:
    return json.dumps(transcript_json.to_dict(t), ensure_ascii=False, indent=1) + "\n"


def parse_json(text: str) -> Transcript:
    try:
        raw = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg})", exc.lineno) from exc
    except RecursionError as exc:
        raise FormatError("the JSON is nested too deeply") from exc
    try:
        return transcript_json.from_dict(raw)
    except transcript_json.SchemaError as exc:
        raise FormatError(str(exc)) from exc


# --- the registry -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Writer:
    name: str
    extensions: tuple[str, ...]
    description: str
    render_fn: Callable[..., str]
    options: frozenset[str] = frozenset()

    def render(self, transcript: Transcript, **opts: Any) -> str:
        used = {k: v for k, v in opts.items() if k in self.options and v is not None}
        return self.render_fn(transcript, **used)


_SPEAKERS = frozenset({"speakers"})
FORMATS: dict[str, Writer] = {
    w.name: w
    for w in (
        Writer("srt", (".srt",), "SubRip subtitles", render_srt, _SPEAKERS),
        Writer("vtt", (".vtt", ".webvtt"), "WebVTT subtitles", render_vtt, _SPEAKERS),
        Writer("ass", (".ass",), "Advanced SubStation Alpha", render_ass),
        Writer("ssa", (".ssa",), "SubStation Alpha", render_ssa),
        Writer("txt", (".txt",), "plain text", render_txt, frozenset({"timestamps", "speakers"})),
        Writer("tsv", (".tsv",), "tab-separated start, end (ms), text", render_tsv, _SPEAKERS),
        Writer("json", (".json",), "Stenogram JSON: everything, exactly", render_json),
    )
}
READERS: dict[str, Callable[[str], Transcript]] = {
    "srt": parse_srt, "vtt": parse_vtt, "ass": parse_ass, "ssa": parse_ass, "json": parse_json,
}


def get_writer(fmt: str) -> Writer:
    try:
        return FORMATS[fmt.lower().lstrip(".")]
    except KeyError:
        raise FormatError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


def format_for_path(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    for writer in FORMATS.values():
        if ext in writer.extensions:
            return writer.name
    raise FormatError(f"cannot tell the format from the extension {ext or '(none)'!r}; "
                      f"use one of {', '.join(FORMATS)}", path=path)


def render(transcript: Transcript, fmt: str, **opts: Any) -> str:
    """The file's content as text (for previews and stdout)."""
    return get_writer(fmt).render(transcript, **opts)


def write_transcript(transcript: Transcript, path: str | Path, fmt: str | None = None,
                     overwrite: bool = False, **opts: Any) -> Path:
    """Write atomically in ``fmt`` (default: from the extension); UTF-8, no BOM."""
    writer = get_writer(fmt) if fmt else get_writer(format_for_path(path))
    return atomic_write_bytes(path, writer.render(transcript, **opts).encode("utf-8"),
                              overwrite=overwrite)


def parse(text: str, fmt: str) -> Transcript:
    reader = READERS.get(fmt.lower().lstrip("."))
    if reader is None:
        raise FormatError(f"cannot import {fmt!r}; Stenogram reads {', '.join(READERS)}")
    return reader(text)


def read_transcript(path: str | Path, fmt: str | None = None) -> Transcript:
    """Import a subtitle or JSON file. Raises FormatError (with the path and line) or OSError."""
    path = Path(path)
    fmt = fmt or format_for_path(path)
    try:
        return parse(decode_text(path.read_bytes()), fmt)
    except FormatError as exc:
        raise FormatError(exc.reason, exc.line, path) from exc
