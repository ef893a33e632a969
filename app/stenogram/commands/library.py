"""`stenogram library list|search|export`: the transcripts in the library."""

from __future__ import annotations

import argparse
import sys

from stenogram.commands._output import err, friendly_errors, out
from stenogram.commands.convert import add_output_options, output_options
from stenogram.core.formats import FORMATS, render, write_transcript
from stenogram.core.library import Library


def _clock(ms: int | None) -> str:
    if ms is None:
        return "–"
    s, ms = divmod(ms, 1000)
    h, s = divmod(s, 3600)
    return f"{h}:{s // 60:02d}:{s % 60:02d}.{ms // 100}"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("library", help="list, search and export saved transcripts")
    parser.add_argument("--db", help="library file (default: the one in the data folder)")
    sub = parser.add_subparsers(dest="library_command", metavar="ACTION", required=True)

    sub.add_parser("list", help="every transcript, newest first").set_defaults(func=run_list)

    search_p = sub.add_parser("search", help="find words in every transcript")
    search_p.add_argument("query", help="words to find (the last may be the start of a word)")
    search_p.add_argument("--limit", type=int, default=50, help="most hits to show (default 50)")
    search_p.set_defaults(func=run_search)

    export_p = sub.add_parser("export", help="write one transcript to a file or stdout")
    export_p.add_argument("id", type=int, help="transcript id, as `library list` shows it")
    export_p.add_argument("--format", "-f", default=None, choices=sorted(FORMATS),
                          help="format (default: from -o's extension, else srt)")
    export_p.add_argument("-o", "--output", help="file to write (default: stdout)")
    add_output_options(export_p)
    export_p.set_defaults(func=run_export)


def _open(args: argparse.Namespace) -> Library:
    lib = Library.open(args.db)
    if lib.notice:
        err(lib.notice)
    return lib


@friendly_errors
def run_list(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        items = lib.list_transcripts()
        if not items:
            err("The library is empty.")
        for t in items:
            name = t.title or t.media_path or "(untitled)"
            out(f"{t.id}\t{t.modified:%Y-%m-%d %H:%M}\t{_clock(t.duration_ms)}\t"
                f"{t.segment_count} segments\t{t.language or '?'}\t{name}")
    return 0


@friendly_errors
def run_search(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        hits = lib.search(args.query, limit=args.limit)
        for h in hits:
            out(f"{h.transcript_id}\t#{h.segment_index + 1}\t{_clock(h.start_ms)}\t"
                f"{h.snippet}\t{h.title or ''}".rstrip())
        if not hits:
            err(f"Nothing found for {args.query!r}.")
    return 0 if hits else 1


@friendly_errors
def run_export(args: argparse.Namespace) -> int:
    with _open(args) as lib:
        transcript = lib.load(args.id)
    opts = output_options(args)
    if args.output:
        path = write_transcript(transcript, args.output, args.format, overwrite=args.overwrite,
                                **opts)
        err(f"Wrote transcript {args.id} to {path}")
    else:
        sys.stdout.write(render(transcript, args.format or "srt", **opts))
    return 0
