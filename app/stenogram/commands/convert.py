"""`stenogram convert IN OUT`: from one transcript or subtitle format to another, by extension."""

from __future__ import annotations

import argparse

from stenogram.commands._output import err, friendly_errors
from stenogram.core.formats import FORMATS, READERS, read_transcript, write_transcript


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Options every exporting command shares."""
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument("--no-speakers", action="store_true",
                        help="leave speaker names out of the text")
    parser.add_argument("--timestamps", action="store_true",
                        help="start each line of a TXT export with its times")


def output_options(args: argparse.Namespace) -> dict[str, bool]:
    return {"speakers": not args.no_speakers, "timestamps": args.timestamps}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert", help="convert a transcript between formats",
        description=(f"Read {', '.join(READERS)} and write {', '.join(FORMATS)}; each format "
                     "comes from the file's extension unless given."))
    parser.add_argument("input", help="the file to read")
    parser.add_argument("output", help="the file to write")
    parser.add_argument("--from", dest="from_format", choices=sorted(READERS),
                        help="input format (default: from the extension)")
    parser.add_argument("--to", dest="to_format", choices=sorted(FORMATS),
                        help="output format (default: from the extension)")
    add_output_options(parser)
    parser.set_defaults(func=run)


@friendly_errors
def run(args: argparse.Namespace) -> int:
    transcript = read_transcript(args.input, args.from_format)
    path = write_transcript(transcript, args.output, args.to_format, overwrite=args.overwrite,
                            **output_options(args))
    err(f"Wrote {len(transcript.segments)} segments to {path}")
    return 0
