"""The numpy clustering behind speaker labels gives scikit-learn's partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stenogram.core.clustering import average_linkage_halves, kmeans, spectral_clusters
from stenogram.core.speakers import refined_affinity

sklearn_cluster = pytest.importorskip("sklearn.cluster")
sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return sklearn_metrics.adjusted_rand_score(a, b) == pytest.approx(1.0)


def _sklearn_spectral(affinity: np.ndarray, k: int) -> np.ndarray:
    model = sklearn_cluster.SpectralClustering(
        n_clusters=k, affinity="precomputed", random_state=0, assign_labels="kmeans", n_init=10
    )
    return model.fit_predict(affinity)


def _sklearn_halves(vectors: np.ndarray) -> np.ndarray:
    model = sklearn_cluster.AgglomerativeClustering(
        n_clusters=2, metric="cosine", linkage="average"
    )
    return model.fit_predict(vectors)


def _voices(n_voices: int, per_voice: int, spread: float, seed: int) -> np.ndarray:
    """Unit vectors around n_voices random directions in 256 dimensions, like d-vectors."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_voices, 256))
    points = np.concatenate([c + spread * rng.standard_normal((per_voice, 256)) for c in centres])
    return points / np.linalg.norm(points, axis=1, keepdims=True)


@pytest.mark.parametrize(("n_voices", "seed"), [(2, 0), (3, 1), (4, 2)])
def test_spectral_matches_scikit_learn(n_voices: int, seed: int) -> None:
    affinity = np.clip(refined_affinity(_voices(n_voices, 40, 0.9, seed)), 0.0, None)
    ours = spectral_clusters(affinity, n_voices)
    assert len(np.unique(ours)) == n_voices
    assert _same_partition(ours, _sklearn_spectral(affinity, n_voices))


@pytest.mark.parametrize(("n", "seed"), [(5, 0), (60, 1), (400, 2)])
def test_average_linkage_halves_match_scikit_learn(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, 16))
    vectors[: n // 4] += 2.0  # a smaller group apart from the rest
    assert _same_partition(average_linkage_halves(vectors), _sklearn_halves(vectors))


def test_both_on_real_voice_embeddings(shared_audio: Path) -> None:
    from stenogram.core.media import load_audio
    from stenogram.core.speakers import shared_encoder

    _, embeddings = shared_encoder().embed_windows(load_audio(shared_audio / "en_two_speakers.flac"))
    affinity = np.clip(refined_affinity(embeddings), 0.0, None)
    for k in (2, 3):
        assert _same_partition(spectral_clusters(affinity, k), _sklearn_spectral(affinity, k))
    assert _same_partition(average_linkage_halves(embeddings), _sklearn_halves(embeddings))


def test_small_and_degenerate_inputs() -> None:
    assert average_linkage_halves(np.ones((1, 4))).tolist() == [0]
    assert sorted(average_linkage_halves(np.eye(2)).tolist()) == [0, 1]
    # More clusters asked for than points: each point its own.
    assert spectral_clusters(np.ones((2, 2)), 3).tolist() == [0, 1]
    # A point with no affinity to anything still gets a label, and k-means of identical
    # points does not fail.
    affinity = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)
    assert len(spectral_clusters(affinity, 2)) == 3
    labels = kmeans(np.zeros((5, 2)), 2, np.random.default_rng(0))
    assert labels.shape == (5,) and set(labels.tolist()) <= {0, 1}
