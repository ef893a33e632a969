"""Clustering for speaker labels in numpy alone: spectral clustering and average linkage.

The same algorithms as scikit-learn's ``SpectralClustering(affinity="precomputed",
assign_labels="kmeans")`` and ``AgglomerativeClustering(metric="cosine", linkage="average")``,
written here so that the app carries neither scikit-learn nor scipy (about 90 MB of the
bundle) for two functions on at most a few thousand points.
"""

from __future__ import annotations

import math

import numpy as np

KMEANS_RUNS = 10  # k-means restarts from different seeds; the tightest clustering wins
KMEANS_MAX_ITER = 300
KMEANS_TOL = 1e-4  # stop when centres move less than this share of the points' variance


def spectral_clusters(affinity: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Labels 0..k-1 for the points of a symmetric, non-negative affinity matrix.

    Embeds the points with the k leading eigenvectors of the normalised affinity
    D^-1/2 A D^-1/2 (self-affinities left out, as a graph Laplacian does), scaled by
    D^-1/2, then groups that embedding with k-means.
    """
    a = np.array(affinity, dtype=np.float64)
    n = len(a)
    if k >= n:
        return np.arange(n)
    np.fill_diagonal(a, 0.0)
    scale = np.sqrt(a.sum(axis=1))
    scale[scale == 0] = 1.0  # an isolated point: its row stays zero
    normalised = a / scale[:, None] / scale[None, :]
    _, vectors = np.linalg.eigh(normalised)  # ascending: the last k lead
    embedding = vectors[:, -k:][:, ::-1] / scale[:, None]
    return kmeans(embedding, k, np.random.default_rng(seed))


def kmeans(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Labels of the k-means clustering (k-means++ starts, Lloyd steps) with the least inertia."""
    tol = KMEANS_TOL * float(np.mean(np.var(points, axis=0)))
    best_labels, best_inertia = None, math.inf
    for _ in range(KMEANS_RUNS):
        labels, inertia = _lloyd(points, _kmeans_plus_plus(points, k, rng), tol)
        if inertia < best_inertia:
            best_labels, best_inertia = labels, inertia
    return best_labels


def _kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Starting centres far apart: each next one drawn by squared distance, best of a few."""
    trials = 2 + int(math.log(k))
    centres = [points[rng.integers(len(points))]]
    nearest = _sq_dist(points, centres[0][None])[:, 0]
    for _ in range(1, k):
        total = nearest.sum()
        if total <= 0:  # every point sits on a centre already
            centres.append(points[rng.integers(len(points))])
            continue
        picks = np.searchsorted(np.cumsum(nearest), rng.random(trials) * total)
        picks = np.minimum(picks, len(points) - 1)
        candidates = np.minimum(nearest[:, None], _sq_dist(points, points[picks]))
        best = int(np.argmin(candidates.sum(axis=0)))
        centres.append(points[picks[best]])
        nearest = candidates[:, best]
    return np.stack(centres)


def _lloyd(points: np.ndarray, centres: np.ndarray, tol: float) -> tuple[np.ndarray, float]:
    for _ in range(KMEANS_MAX_ITER):
        dist = _sq_dist(points, centres)
        labels = np.argmin(dist, axis=1)
        moved = centres.copy()
        for j in range(len(centres)):
            members = points[labels == j]
            if len(members):
                moved[j] = members.mean(axis=0)
            else:  # an empty cluster restarts at the point worst served
                moved[j] = points[int(np.argmax(dist[np.arange(len(points)), labels]))]
        shift = float(((moved - centres) ** 2).sum())
        centres = moved
        if shift <= tol:
            break
    dist = _sq_dist(points, centres)
    labels = np.argmin(dist, axis=1)
    return labels, float(dist[np.arange(len(points)), labels].sum())


def _sq_dist(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = (points**2).sum(axis=1)[:, None] - 2 * points @ centres.T + (centres**2).sum(axis=1)
    return np.maximum(d, 0.0)


def average_linkage_halves(vectors: np.ndarray) -> np.ndarray:
    """Labels 0/1: the two clusters below the root of the average-linkage tree, cosine distance.

    Merges reciprocal nearest clusters (the nearest-neighbour chain), which for average
    linkage builds the same tree as always merging the closest pair, in O(n^2).
    """
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    dist = 1.0 - unit.astype(np.float64) @ unit.T.astype(np.float64)
    np.fill_diagonal(dist, np.inf)
    size = np.ones(n)
    owner = np.arange(n)  # the cluster (its first point's index) each point belongs to
    remaining, chain = n, []
    while remaining > 2:
        if not chain:
            chain.append(int(np.argmax(size)))  # any live cluster
        a = chain[-1]
        b = int(np.argmin(dist[a]))
        if len(chain) > 1 and dist[a, chain[-2]] <= dist[a, b]:
            b = chain[-2]  # ties go back along the chain, so it always ends
        if len(chain) > 1 and b == chain[-2]:
            del chain[-2:]
            _merge(dist, size, owner, a, b)
            remaining -= 1
        else:
            chain.append(b)
    roots = np.unique(owner)
    return (owner == roots[1]).astype(np.int64)


def _merge(dist: np.ndarray, size: np.ndarray, owner: np.ndarray, a: int, b: int) -> None:
    """Cluster b joins a; a's distances become the size-weighted mean of both (Lance-Williams)."""
    row = (size[a] * dist[a] + size[b] * dist[b]) / (size[a] + size[b])
    dist[a], dist[:, a] = row, row
    dist[a, a] = np.inf
    dist[b], dist[:, b] = np.inf, np.inf
    size[a] += size[b]
    size[b] = 0
    owner[owner == b] = a
