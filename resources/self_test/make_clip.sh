#!/usr/bin/env bash
# Regenerates self_test.flac, the clip `stenogram --self-test` transcribes: synthetic speech
# from espeak-ng, resampled to 16 kHz mono FLAC with sox. Needs only espeak-ng and sox (Debian:
# apt-get install espeak-ng sox); no network, no recordings of real people.
set -euo pipefail
cd "$(dirname "$0")"
TEXT="This is the self test. The quick brown fox jumps over the lazy dog."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# espeak's default English voice at 130 words a minute with short gaps between words: the
# variant tiny.en and base both read word for word (en-us, faster speech, or "Stenogram"
# itself came out as "round-fark", "lazy nog", "a drum self test").
espeak-ng -v en -s 130 -g 3 -w "$tmp/speech.wav" "$TEXT"
# Half a second of silence either side, like a real recording; 16 kHz is what Whisper uses.
sox "$tmp/speech.wav" -r 16000 -c 1 -b 16 self_test.flac pad 0.5 0.5
echo "wrote $(pwd)/self_test.flac: $TEXT"
