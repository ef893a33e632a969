"""How much of a 30 s window the encoder reads: all of it, or only the audio it holds.

Whisper was trained on 30 s windows, short audio padded with silence, and its encoder costs
as much for 3 s of speech as for 30 s. For short inputs (a dictation, each live re-decode)
it can read just the frames that hold audio plus a margin of that padding: positions are
absolute, so the first N positions of a short input mean what they mean in a full window.

Without a margin the decoder, which never saw audio end at the window's edge in training,
repeats its last sentence (measured on the shared clips: 3 of 9 looped with no margin, none
with 1 s or more; texts otherwise as with the full window). So the margin is 2 s for voice,
where every 100 ms counts, the input is rounded up to whole seconds (few distinct shapes), and
a decode that still looks like a failure is redone on the full window (see
``window_decoder.encode_and_decode``).

Files get a longer margin. With 2 s, beam search lost words on the shared clips (tiny.en WER
5.3% -> 6.7%, "Neither did I" -> "I need to design"); with 8 s, greedy and beam 5 of tiny.en
and base gave the full window's WER (one greedy tiny.en word aside) in 63-80% of the time.
"""

from __future__ import annotations

from stenogram.core.log_mel import FRAMES_PER_SECOND, N_FRAMES

FIT_MARGIN_FRAMES = 2 * FRAMES_PER_SECOND  # dictation and live
FILE_FIT_MARGIN_FRAMES = 8 * FRAMES_PER_SECOND  # files, fitted by the engine's own choice
FIT_STEP_FRAMES = FRAMES_PER_SECOND


def encoder_frames(audio_frames: int, margin_frames: int | None) -> int:
    """Frames of the window the encoder reads for ``audio_frames`` of audio in it: the audio
    and ``margin_frames`` of its padding, or the whole window when None."""
    if margin_frames is None:
        return N_FRAMES
    wanted = audio_frames + margin_frames
    rounded = -(-wanted // FIT_STEP_FRAMES) * FIT_STEP_FRAMES
    return min(N_FRAMES, rounded)
