"""`stenogram subtitles shape|check`: re-cut subtitles for reading, or list rule violations."""

from __future__ import annotations

import argparse

from stenogram.commands._output import err, friendly_errors, out
from stenogram.commands.convert import add_output_options, output_options
from stenogram.core.formats import read_transcript, write_transcript
from stenogram.core.subtitles import (
    SubtitleRules,
    cues_from_transcript,
    cues_to_transcript,
    shape,
    validate,
)

_DEFAULTS = SubtitleRules()


def _add_rule_options(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    parser.add_argument("--max-chars", type=int, default=d.max_chars_per_line,
                        help=f"characters per line (default {d.max_chars_per_line})")
    parser.add_argument("--max-lines", type=int, default=d.max_lines,
                        help=f"lines per cue (default {d.max_lines})")
    parser.add_argument("--max-cps", type=float, default=d.max_cps,
                        help=f"reading speed, characters per second (default {d.max_cps:g})")
    parser.add_argument("--min-duration", type=float, default=d.min_duration_ms / 1000,
                        help=f"seconds on screen at least (default {d.min_duration_ms / 1000:g})")
    parser.add_argument("--max-duration", type=float, default=d.max_duration_ms / 1000,
                        help=f"seconds on screen at most (default {d.max_duration_ms / 1000:g})")
    parser.add_argument("--min-gap", type=float, default=d.min_gap_ms / 1000,
                        help=f"seconds between cues at least (default {d.min_gap_ms / 1000:g})")


def rules_from_args(args: argparse.Namespace) -> SubtitleRules:
    return SubtitleRules(
        max_chars_per_line=args.max_chars, max_lines=args.max_lines, max_cps=args.max_cps,
        min_duration_ms=round(args.min_duration * 1000),
        max_duration_ms=round(args.max_duration * 1000), min_gap_ms=round(args.min_gap * 1000))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("subtitles", help="shape subtitles for reading, check rules")
    sub = parser.add_subparsers(dest="subtitles_command", metavar="ACTION", required=True)

    shape_p = sub.add_parser("shape", help="re-cut cues from word timings to meet the rules")
    shape_p.add_argument("input", help="subtitles or a Stenogram JSON transcript")
    shape_p.add_argument("-o", "--output", required=True, help="file to write (format from "
                                                               "its extension)")
    _add_rule_options(shape_p)
    add_output_options(shape_p)
    shape_p.set_defaults(func=run_shape)

    check_p = sub.add_parser("check", help="list the cues that break a rule")
    check_p.add_argument("input", help="subtitles to check as they are")
    _add_rule_options(check_p)
    check_p.set_defaults(func=run_check)


@friendly_errors
def run_shape(args: argparse.Namespace) -> int:
    rules = rules_from_args(args)
    transcript = read_transcript(args.input)
    cues = shape(transcript, rules)
    write_transcript(cues_to_transcript(cues, like=transcript), args.output,
                     overwrite=args.overwrite, **output_options(args))
    violations = validate(cues, rules)
    err(f"Wrote {len(cues)} cues to {args.output}; {len(violations)} could not meet every rule.")
    for v in violations:
        err(f"  cue {v.cue_index + 1}: {v.rule}: {v.message}")
    return 0


@friendly_errors
def run_check(args: argparse.Namespace) -> int:
    rules = rules_from_args(args)
    violations = validate(cues_from_transcript(read_transcript(args.input)), rules)
    for v in violations:
        out(f"cue {v.cue_index + 1}\t{v.rule}\t{v.message}")
    return 1 if violations else 0
