"""Make tests/data/resemblyzer_reference.json: Resemblyzer's own embeddings of real speech.

NEVER run in CI and never with the project's venv: it needs torch, which Stenogram must not
install. It ran once, in a separate throw-away venv outside the repository:

    python3.11 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install torch==2.13.0 Resemblyzer==0.1.4 librosa soundfile 'setuptools<81'
    /tmp/refvenv/bin/python tests/data/make_resemblyzer_reference.py ../shared/audio

(setuptools<81 because webrtcvad, which resemblyzer imports, still needs pkg_resources.)
Versions used: torch 2.13.0+cpu, Resemblyzer 0.1.4, librosa 0.11.0, soundfile 0.14.0, numpy 2.4.6.

For each clip: the 16 kHz FLAC read as float32 (int16 / 32768), raised to -30 dBFS with
Resemblyzer's own normalize_volume(increase_only=True) (its preprocess_wav's loudness step;
the webrtcvad silence trimming is left out), then VoiceEncoder().embed_utterance() with its
defaults (partials of 160 frames at 1.3 per second, min_coverage 0.75).
tests/test_speaker_encoder.py compares Stenogram's MLX encoder against these numbers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import soundfile
from resemblyzer import VoiceEncoder, normalize_volume

CLIPS = (
    "en_ls_1089-134686-0002.flac",  # male reader
    "en_ls_1221-135766-0002.flac",  # female reader
    "en_ls_2830-3980-0000.flac",  # another reader, 3.7 s: a short utterance
)
OUT = Path(__file__).with_name("resemblyzer_reference.json")


def main(audio_dir: Path) -> None:
    encoder = VoiceEncoder(device="cpu", verbose=False)
    result = {}
    for name in CLIPS:
        wav, rate = soundfile.read(audio_dir / name, dtype="float32")
        assert rate == 16_000 and wav.ndim == 1, name
        wav = normalize_volume(wav, -30, increase_only=True).astype(np.float32)
        embed = encoder.embed_utterance(wav)
        result[name] = [round(float(v), 6) for v in embed]
    OUT.write_text(json.dumps(result) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")  # noqa: T201  (a one-off script run by hand)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[3] / "shared" / "audio")
