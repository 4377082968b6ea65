"""Stable problem ids: today's clusters matched to the stored problems (``ads.ads_problem``, members in
``ads.ads_problem_case``), so that re-clustering every day never renumbers a problem.

Matching, in two rounds of the Hungarian assignment (``scipy.optimize.linear_sum_assignment``, one-to-one):
1. on member overlap: cost 1 - Jaccard(members today among the cases the last run saw, members stored), so the
   cases of a day added do not dilute the overlap; a pair is kept when the Jaccard is at least
   ``match_min_jaccard``;
2. the clusters and problems left, on the distance of their weighted centroids (columns missing on one side
   count 0); a pair is kept within ``match_max_centroid_distance``.
A cluster left over is a new problem: the next id, in the order of the clusters' smallest case id. A stored
problem matched by nothing stays, dormant, with its name and centroid (it may come back). The same cases give
the same clusters and Jaccard 1 with themselves: a re-run of a day keeps every id."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from fleetloop.curriculum.clusters import Cluster
from fleetloop.curriculum.config import CurriculumConfig

NEW, BY_MEMBERS, BY_CENTROID = "new", "members", "centroid"  # how a cluster got its id


@dataclass(frozen=True)
class StoredProblem:
    """A problem as the last run left it."""

    problem_id: int
    members: frozenset[str]
    centroid: dict[str, float]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def centroid_distance(a: dict[str, float], b: dict[str, float]) -> float:
    return math.sqrt(sum((a.get(k, 0.0) - b.get(k, 0.0)) ** 2 for k in sorted(a.keys() | b.keys())))


def _assign(cost: np.ndarray, limit: float) -> list[tuple[int, int]]:
    if not cost.size:
        return []
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= limit]


def match(clusters: list[Cluster], stored: list[StoredProblem], cfg: CurriculumConfig,
          known: frozenset[str] | None = None) -> list[tuple[int, str]]:
    """``(problem_id, how)`` for every cluster, in the clusters' order; ``known``: the cases the last run
    clustered (None: every case)."""
    stored = sorted(stored, key=lambda p: p.problem_id)
    out: dict[int, tuple[int, str]] = {}
    seen = [c.members if known is None else c.members & known for c in clusters]
    cost = np.array([[1.0 - jaccard(m, p.members) for p in stored] for m in seen]).reshape(
        len(clusters), len(stored))
    for i, j in _assign(cost, 1.0 - cfg.match_min_jaccard):
        out[i] = (stored[j].problem_id, BY_MEMBERS)
    left_c = [i for i in range(len(clusters)) if i not in out]
    taken = {pid for pid, _ in out.values()}
    left_p = [p for p in stored if p.problem_id not in taken]
    dist = np.array([[centroid_distance(clusters[i].centroid, p.centroid) for p in left_p] for i in left_c]).reshape(
        len(left_c), len(left_p))
    for a, b in _assign(dist, cfg.match_max_centroid_distance):
        out[left_c[a]] = (left_p[b].problem_id, BY_CENTROID)
    next_id = max((p.problem_id for p in stored), default=0) + 1
    for i in sorted((i for i in range(len(clusters)) if i not in out), key=lambda i: min(clusters[i].members)):
        out[i] = (next_id, NEW)
        next_id += 1
    return [out[i] for i in range(len(clusters))]
