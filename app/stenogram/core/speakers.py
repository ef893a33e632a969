"""Who spoke when: speaker turns from voice embeddings, and speaker labels on a transcript.

``diarize`` finds speech with the VAD, embeds sliding windows inside it with the GE2E voice
encoder, clusters the windows into speakers and turns the labelled windows into turns.
``assign_speakers`` puts those turns on a transcript's words and splits segments where the
speaker changes.

Clustering (in numpy, core/clustering.py): spectral clustering of a refined cosine affinity
(Wang et al. 2018, "Speaker diarization with LSTM", the recipe made for these d-vectors); the
eigengap proposes a speaker count, then clusters whose centroids are as alike as one voice's
clips usually are (SAME_SPEAKER_SIM) are merged, which is how a single voice ends up as one
speaker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from stenogram.core.clustering import average_linkage_halves, spectral_clusters
from stenogram.core.speaker_encoder import SpeakerEncoder
from stenogram.core.speaker_errors import DiarizationCancelled, DiarizationError
from stenogram.core.transcript import Segment, Transcript, Word, utc_now

SAMPLE_RATE = 16_000  # Hz
MAX_SPEAKERS = 8  # the most speakers the automatic count proposes
# Cosine similarity of two cluster centroids above which they are taken for one voice.
# Tuned on the shared recordings: one reader's clips split two ways give 0.90-0.96; the two
# women on a phone line in en_two_speakers.flac give 0.88; different LibriSpeech readers <= 0.75.
SAME_SPEAKER_SIM = 0.89
# Two halves of a cluster whose centroids are less alike than this are two voices.
DISTINCT_SIM = 0.8
MIN_SPLIT_WINDOWS = 4  # such a half needs about 2 s of speech to count
MIN_SPEAKER_WINDOWS = 3  # a cluster of fewer windows (about 1.5 s of speech) is not a speaker
MAX_CLUSTER_WINDOWS = 1500  # longer files: cluster a strided subset, then assign every window
REFINE_KEEP = 0.3  # affinity refinement: each row keeps its strongest 30 %
VAD_MERGE_GAP_MS = 300  # speech regions closer than this are one region

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class DiarizationOptions:
    # How many speakers: None counts them; a number forces that many (where there is speech).
    num_speakers: int | None = None
    max_speakers: int = MAX_SPEAKERS
    # Windows: each embedding reads window_s of audio, one every hop_s, inside speech.
    window_s: float = 1.5
    hop_s: float = 0.5
    # Labels of fewer than this many consecutive windows take their neighbours' label.
    smoothing_windows: int = 3

    def __post_init__(self) -> None:
        if self.num_speakers is not None and self.num_speakers < 1:
            raise DiarizationError("The number of speakers must be at least 1.")
        if self.max_speakers < 1:
            raise DiarizationError("The most speakers to look for must be at least 1.")
        if not (0.2 <= self.window_s <= 10.0) or not (0.05 <= self.hop_s <= self.window_s):
            raise DiarizationError(
                "Speaker windows must be 0.2-10 s long, with a hop from 0.05 s to the window length."
            )


@dataclass(frozen=True)
class SpeakerTurn:
    """One speaker talking from start_ms to end_ms; speaker is "Speaker 1", "Speaker 2", …"""

    start_ms: int
    end_ms: int
    speaker: str


_shared_encoder: SpeakerEncoder | None = None
_encoder_lock = threading.Lock()


def shared_encoder() -> SpeakerEncoder:
    """One encoder for the process, so the weights are read once."""
    global _shared_encoder
    with _encoder_lock:
        if _shared_encoder is None:
            _shared_encoder = SpeakerEncoder()
        return _shared_encoder


def diarize(
    audio: np.ndarray,
    options: DiarizationOptions | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    encoder: SpeakerEncoder | None = None,
) -> list[SpeakerTurn]:
    """Speaker turns of a 16 kHz mono float32 signal, in time order, not overlapping.

    on_progress gets the fraction done (0..1, rising, ends at 1.0); setting ``cancel`` raises
    DiarizationCancelled within a few seconds. Speakers are named in order of first appearance.
    """
    from stenogram.core.vad import VadOptions, detect_speech

    options = options or DiarizationOptions()
    audio = _check_audio(audio)
    progress = _Progress(on_progress, cancel)
    progress(0.0)
    regions = [
        (r.start / SAMPLE_RATE, r.end / SAMPLE_RATE)
        for r in detect_speech(audio, VadOptions(merge_gap_ms=VAD_MERGE_GAP_MS))
    ]
    progress(0.1)
    if not regions:
        progress(1.0)
        return []
    encoder = encoder or shared_encoder()
    times, embeddings = encoder.embed_windows(
        audio,
        options.window_s,
        options.hop_s,
        regions=regions,
        on_progress=lambda f: progress(0.1 + 0.8 * f),
    )
    labels = cluster_embeddings(embeddings, options)
    labels = smooth_labels(labels, times, regions, options.smoothing_windows)
    progress(0.95)
    turns = turns_from_windows(times, labels, regions)
    progress(1.0)
    return turns


def cluster_embeddings(embeddings: np.ndarray, options: DiarizationOptions) -> np.ndarray:
    """A speaker index per window (0, 1, …), from L2-normalised embeddings (N, D)."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    wanted = options.num_speakers
    if n < 2 or wanted == 1 or (wanted is None and n < 2 * MIN_SPEAKER_WINDOWS):
        return np.zeros(n, dtype=int)
    step = max(1, int(np.ceil(n / MAX_CLUSTER_WINDOWS)))
    sample = embeddings[::step]
    affinity = refined_affinity(sample)
    k = eigengap_count(affinity, min(options.max_speakers, len(sample) - 1))
    if wanted is not None:
        k = min(k, wanted)
    labels = _spectral(affinity, k) if k > 1 else np.zeros(len(sample), dtype=int)
    if wanted is None:
        labels = _split_distinct(sample, labels, options.max_speakers)
        return _nearest(embeddings, _merge_alike(_centroids(sample, labels), sample))
    # A given count above the eigengap's: cut off the most distinct groups until there.
    while len(np.unique(labels)) < min(wanted, len(sample)):
        if not _split_most_distinct(sample, labels):
            break
    return _nearest(embeddings, _centroids(sample, labels))


def _split_most_distinct(embeddings: np.ndarray, labels: np.ndarray) -> bool:
    """Bisect the cluster whose halves are least alike (in place); False when none can be."""
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        if len(idx) < 2:
            continue
        halves = _bisect(embeddings[idx])
        if min(np.bincount(halves, minlength=2)) < MIN_SPEAKER_WINDOWS <= len(idx) // 2:
            halves = _spectral(refined_affinity(embeddings[idx]), 2)  # balanced, not an outlier
        if min(np.bincount(halves, minlength=2)) == 0:
            continue
        a, b = _centroids(embeddings[idx], halves)
        if best is None or float(a @ b) < best[0]:
            best = (float(a @ b), idx, halves)
    if best is None:
        return False
    _, idx, halves = best
    labels[idx[halves == 1]] = int(labels.max()) + 1
    return True


def _split_distinct(embeddings: np.ndarray, labels: np.ndarray, max_speakers: int) -> np.ndarray:
    """Bisect clusters that hide a clearly different voice.

    The eigengap sees the big groups; a speaker with a few seconds among long talkers hides
    inside one. A cluster is cut in two when the halves' centroids are less alike than
    DISTINCT_SIM, far below what one voice gives, so one speaker is not cut this way.
    """
    labels = labels.copy()
    pending = list(np.unique(labels))
    while pending and len(np.unique(labels)) < max_speakers:
        label = pending.pop()
        idx = np.flatnonzero(labels == label)
        if len(idx) < 2 * MIN_SPLIT_WINDOWS:
            continue
        halves = _bisect(embeddings[idx])
        if min(np.bincount(halves, minlength=2)) < MIN_SPLIT_WINDOWS:
            continue
        a, b = _centroids(embeddings[idx], halves)
        if float(a @ b) >= DISTINCT_SIM:
            continue
        new = int(labels.max()) + 1
        labels[idx[halves == 1]] = new
        pending += [label, new]
    return labels


def refined_affinity(embeddings: np.ndarray) -> np.ndarray:
    """Cosine affinity made sharper (Wang et al.): row-wise top-k, symmetrise, diffuse, scale."""
    a = embeddings @ embeddings.T
    np.fill_diagonal(a, 0.0)
    np.fill_diagonal(a, a.max(axis=1))  # a window's self-affinity: its best neighbour's
    keep = max(1, int(np.ceil(REFINE_KEEP * len(a))))
    threshold = -np.sort(-a, axis=1)[:, keep - 1 : keep]
    a = np.where(a >= threshold, a, a * 0.01)
    a = np.maximum(a, a.T)
    a = a @ a.T
    a /= np.maximum(a.max(axis=1, keepdims=True), 1e-12)
    return (a + a.T) / 2


def eigengap_count(affinity: np.ndarray, max_k: int) -> int:
    """The speaker count where the affinity's sorted eigenvalues drop most (ratio)."""
    if max_k < 2:
        return 1
    values = np.sort(np.linalg.eigvalsh(affinity))[::-1][: max_k + 1]
    values = np.maximum(values, 1e-12)
    ratios = values[:-1] / values[1:]
    return int(np.argmax(ratios)) + 1


def _spectral(affinity: np.ndarray, k: int) -> np.ndarray:
    return spectral_clusters(np.clip(affinity, 0.0, None), k, seed=0)


def _bisect(embeddings: np.ndarray) -> np.ndarray:
    # Average linkage isolates a small, distinct group where spectral cuts a big one in half.
    return average_linkage_halves(embeddings)


def _centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    rows = [embeddings[labels == j].mean(axis=0) for j in np.unique(labels)]
    c = np.stack(rows)
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)


def _nearest(embeddings: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.argmax(embeddings @ centroids.T, axis=1)


def _merge_alike(centroids: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """Merge tiny clusters into their nearest, then clusters that sound like one voice."""
    groups = [embeddings[_nearest(embeddings, centroids) == j] for j in range(len(centroids))]
    groups = [g for g in groups if len(g)]
    while len(groups) > 1:
        c = np.stack([_unit(g.mean(axis=0)) for g in groups])
        sims = c @ c.T
        np.fill_diagonal(sims, -np.inf)
        sizes = np.array([len(g) for g in groups])
        if sizes.min() < MIN_SPEAKER_WINDOWS:
            i = int(np.argmin(sizes))
            j = int(np.argmax(sims[i]))
        else:
            i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            if sims[i, j] < SAME_SPEAKER_SIM:
                break
        groups[j] = np.concatenate([groups[j], groups[i]])
        del groups[i]
    return np.stack([_unit(g.mean(axis=0)) for g in groups])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def smooth_labels(
    labels: np.ndarray, times: np.ndarray, regions: Sequence[tuple[float, float]], width: int
) -> np.ndarray:
    """Give runs shorter than ``width`` windows inside a region the label of a neighbouring run.

    A speaker rarely talks for less than a second between two turns of another; such short
    runs are mostly windows that straddle a change or hold a cough.
    """
    labels = labels.copy()
    if width <= 1:
        return labels
    for idx in _windows_per_region(times, regions):
        if len(idx) < 2:
            continue
        changed = True
        while changed:
            changed = False
            runs = _runs(labels[idx])
            if len(runs) < 2:
                break
            # The shortest run that is short enough takes the label of its longer neighbour.
            lengths = [b - a for a, b, _ in runs]
            r = int(np.argmin(lengths))
            if lengths[r] >= width:
                break
            left = runs[r - 1] if r > 0 else None
            right = runs[r + 1] if r + 1 < len(runs) else None
            pick = max((x for x in (left, right) if x), key=lambda x: x[1] - x[0])
            a, b, _ = runs[r]
            labels[idx[a:b]] = pick[2]
            changed = True
    return labels


def turns_from_windows(
    times: np.ndarray, labels: np.ndarray, regions: Sequence[tuple[float, float]]
) -> list[SpeakerTurn]:
    """Speaker turns: each region cut where the label changes, halfway between the windows."""
    raw: list[tuple[float, float, int]] = []
    for (start, end), idx in zip(regions, _windows_per_region(times, regions), strict=True):
        if not len(idx):
            continue
        cut = start
        for a, b in zip(idx[:-1], idx[1:], strict=True):
            if labels[a] != labels[b]:
                middle = (times[a] + times[b]) / 2
                raw.append((cut, middle, int(labels[a])))
                cut = middle
        raw.append((cut, end, int(labels[idx[-1]])))
    names: dict[int, str] = {}
    turns: list[SpeakerTurn] = []
    for start, end, label in raw:
        name = names.setdefault(label, f"Speaker {len(names) + 1}")
        start_ms, end_ms = round(start * 1000), round(end * 1000)
        if turns and turns[-1].speaker == name and start_ms - turns[-1].end_ms <= VAD_MERGE_GAP_MS:
            turns[-1] = replace(turns[-1], end_ms=end_ms)
        elif end_ms > start_ms:
            turns.append(SpeakerTurn(start_ms, end_ms, name))
    return turns


def _windows_per_region(
    times: np.ndarray, regions: Sequence[tuple[float, float]]
) -> list[np.ndarray]:
    """Indices of the windows that belong to each region (a short region's midpoint window too)."""
    out = []
    for start, end in regions:
        inside = (times >= start - 1e-6) & (times < end + 1e-6)
        out.append(np.flatnonzero(inside))
    return out


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    runs = []
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((start, i, int(values[start])))
            start = i
    return runs


class _Progress:
    """Rising progress, and the cancel check, in one call."""

    def __init__(self, callback: ProgressCallback | None, cancel: threading.Event | None) -> None:
        self.callback, self.cancel, self.last = callback, cancel, -1.0

    def __call__(self, fraction: float) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise DiarizationCancelled()
        fraction = min(1.0, max(0.0, fraction))
        if self.callback is not None and fraction > self.last:
            self.last = fraction
            self.callback(fraction)


def _check_audio(audio: np.ndarray) -> np.ndarray:
    if not isinstance(audio, np.ndarray) or audio.ndim != 1:
        raise DiarizationError("Speaker labelling needs mono audio as one row of 16 kHz samples.")
    if not np.issubdtype(audio.dtype, np.floating):
        raise DiarizationError("Speaker labelling needs audio as floating-point samples.")
    audio = audio.astype(np.float32, copy=False)
    if not np.isfinite(audio).all():
        raise DiarizationError("The audio holds invalid samples (NaN or infinity).")
    return audio


# ---------------------------------------------------------------------------------------------
# Speakers on a transcript


def assign_speakers(transcript: Transcript, turns: Sequence[SpeakerTurn]) -> Transcript:
    """A copy of the transcript with a speaker on every segment that overlaps speech.

    Each word goes to the turn it overlaps most (or the nearest turn when it overlaps none);
    a segment whose words belong to several speakers is split where the speaker changes,
    keeping word timing and the segment's confidence fields. Speakers are renamed "Speaker 1",
    "Speaker 2", … in order of first appearance in the transcript.
    """
    turns = sorted(turns, key=lambda t: t.start_ms)
    segments: list[Segment] = []
    for seg in transcript.segments:
        segments.extend(_split_by_speaker(seg, turns))
    names: dict[str, str] = {}
    renamed = []
    for seg in segments:
        if seg.speaker is not None:
            seg = replace(seg, speaker=names.setdefault(seg.speaker, f"Speaker {len(names) + 1}"))
        renamed.append(seg)
    return replace(transcript, segments=renamed, modified=utc_now())


def _split_by_speaker(seg: Segment, turns: Sequence[SpeakerTurn]) -> list[Segment]:
    if not turns:
        return [replace(seg, speaker=None)]
    if not seg.words:
        return [replace(seg, speaker=_speaker_for(seg.start_ms, seg.end_ms, turns))]
    speakers = [_speaker_for(w.start_ms, w.end_ms, turns) for w in seg.words]
    runs: list[tuple[str | None, list[Word]]] = []
    for word, speaker in zip(seg.words, speakers, strict=True):
        if runs and runs[-1][0] == speaker:
            runs[-1][1].append(word)
        else:
            runs.append((speaker, [word]))
    if len(runs) == 1:
        return [replace(seg, speaker=runs[0][0])]
    pieces = []
    for n, (speaker, words) in enumerate(runs):
        start = seg.start_ms if n == 0 else words[0].start_ms
        end = seg.end_ms if n == len(runs) - 1 else max(words[-1].end_ms, start)
        text = "".join(w.text for w in words)  # words keep Whisper's leading spaces
        pieces.append(
            replace(seg, start_ms=start, end_ms=end, text=text, words=tuple(words), speaker=speaker)
        )
    return pieces


def _speaker_for(start_ms: int, end_ms: int, turns: Sequence[SpeakerTurn]) -> str:
    """The turn overlapping [start, end] most; without overlap, the nearest turn."""
    best, best_overlap, best_gap = turns[0].speaker, 0, None
    for turn in turns:
        overlap = min(end_ms, turn.end_ms) - max(start_ms, turn.start_ms)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
        gap = max(turn.start_ms - end_ms, start_ms - turn.end_ms, 0)
        if best_overlap == 0 and (best_gap is None or gap < best_gap):
            best, best_gap = turn.speaker, gap
    return best
