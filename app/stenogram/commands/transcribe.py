"""`stenogram transcribe FILE…`: transcribe files into text and subtitle formats.

Each file gets its own progress bar on stderr; a file that fails is reported in one sentence
and the batch goes on; the exit code is 1 when any file failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stenogram.commands.progress_bar import ProgressBar

SUBTITLE_FORMATS = ("srt", "vtt", "ass", "ssa")
DEFAULT_FORMAT = "txt"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "transcribe",
        help="transcribe audio or video files",
        description="Transcribe audio or video files with Whisper on MLX.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="media files or folders of them")
    p.add_argument(
        "--model", default=None, help="installed model name or model folder (default: tiny.en)"
    )
    p.add_argument(
        "--language", default=None, help="spoken language, e.g. en, de (default: detect)"
    )
    p.add_argument("--task", choices=("transcribe", "translate"), default="transcribe")
    p.add_argument("--word-timestamps", action="store_true", help="time every word")
    p.add_argument("--prompt", default=None, help="words or style to expect (names, jargon)")
    p.add_argument("--no-vad", action="store_true", help="decode silence too (slower)")
    p.add_argument(
        "--beam-size",
        type=int,
        default=None,
        metavar="N",
        help="beam search width (default: greedy on a CPU, 5 on a Mac's GPU; 1 = greedy)",
    )
    p.add_argument(
        "--speakers",
        nargs="?",
        const=0,
        type=int,
        default=None,
        metavar="N",
        help="label who spoke when; give N to fix the number of speakers",
    )
    p.add_argument(
        "--format",
        default=DEFAULT_FORMAT,
        help="output formats, comma-separated: txt, srt, vtt, ass, tsv, json, or all (default: txt)",
    )
    p.add_argument(
        "--output",
        "-o",
        type=Path,
        default=None,
        help="folder for the outputs (default: beside each file)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument(
        "--raw-segments",
        action="store_true",
        help="subtitles as Whisper's segments, not shaped for reading",
    )
    p.add_argument(
        "--no-library", action="store_true", help="do not keep the transcripts in the library"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stenogram.core.engine import DEFAULT_MODEL, TranscribeOptions, Transcriber
    from stenogram.core.formats import FORMATS, FormatError
    from stenogram.core.media_files import find_media

    try:
        formats = _formats(args.format, FORMATS)
    except FormatError as error:
        print(f"stenogram: error: {error}", file=sys.stderr)
        return 2
    files = _expand(args.files, find_media)
    if not files:
        print("stenogram: error: no media files to transcribe.", file=sys.stderr)
        return 2
    wants_words = args.word_timestamps or (
        not args.raw_segments and set(formats) & set(SUBTITLE_FORMATS)
    )
    options = TranscribeOptions(
        model=args.model or DEFAULT_MODEL,
        language=args.language,
        task=args.task,
        word_timestamps=bool(wants_words),
        initial_prompt=args.prompt,
        vad=not args.no_vad,
        beam_size=args.beam_size,
        speakers=args.speakers is not None,
        num_speakers=args.speakers or None,
    )
    library = None if args.no_library else _open_library()
    transcriber = Transcriber()
    failures = 0
    for path in files:
        failures += not _transcribe_one(transcriber, path, options, formats, args, library)
    if library is not None:
        library.close()
    if len(files) > 1:
        print(f"{len(files) - failures} of {len(files)} files transcribed.", file=sys.stderr)
    return 1 if failures else 0


def _transcribe_one(transcriber, path: Path, options, formats: list[str], args, library) -> bool:
    from stenogram.core.jobs import run_job

    bar = ProgressBar(path.name)
    outcome = run_job(transcriber, path, options, library=library, on_progress=bar.update)
    if outcome.status != "done":
        bar.finish(f"failed: {outcome.error}" if outcome.error else outcome.status)
        return False
    try:
        written = [_write(outcome.transcript, path, fmt, args) for fmt in formats]
    except (OSError, ValueError) as error:
        bar.finish(f"failed to write: {getattr(error, 'user_message', None) or error}")
        return False
    bar.finish(f"done in {outcome.seconds:.1f} s → " + ", ".join(str(w) for w in written))
    return True


def _write(transcript, media_path: Path, fmt: str, args) -> Path:
    from stenogram.core.formats import FORMATS, write_transcript
    from stenogram.core.subtitles import cues_to_transcript, shape

    folder = args.output or media_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{media_path.stem}{FORMATS[fmt].extensions[0]}"
    document = transcript
    if (
        fmt in SUBTITLE_FORMATS
        and not args.raw_segments
        and any(s.words for s in transcript.segments)
    ):
        document = cues_to_transcript(shape(transcript), like=transcript)
    return write_transcript(document, target, fmt, overwrite=args.overwrite)


def _formats(spec: str, known) -> list[str]:
    from stenogram.core.formats import FormatError

    names = [f.strip().lower().lstrip(".") for f in spec.split(",") if f.strip()]
    if "all" in names:
        return list(known)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise FormatError(
            f"unknown format {', '.join(unknown) or spec!r}; choose from {', '.join(known)} or all"
        )
    return list(dict.fromkeys(names))


def _expand(items: list[str], find_media) -> list[Path]:
    files: list[Path] = []
    for item in items:
        path = Path(item)
        files.extend(find_media(path) if path.is_dir() else [path])
    return files


def _open_library():
    from stenogram.core.library import Library

    library = Library.open()
    if library.notice:
        print(f"stenogram: {library.notice}", file=sys.stderr)
    return library
