"""Problem scenarios: HDBSCAN over the weighted case space (``space.py``) and the name of every cluster.

Why HDBSCAN: the number of problems is unknown and changes from day to day, problems differ in size and
density, and most cases are one-offs that belong to no recurring problem. HDBSCAN finds clusters of any number
and density and leaves the cases in no dense region as noise (label -1: unclustered, never forced into a
problem). k-means or a Gaussian mixture would need the number of problems and assign every case. The distance is
Euclidean on the weighted columns: on multi-hot triggers and one-hot site and class it counts the differing
categories (weighted), on tag shares it is the difference of the scene's composition. HDBSCAN has no random
state; with the rows sorted by case id and the columns by name a run is reproducible.

A problem's name is its dominant triggers (the share of members with the trigger >= ``name_trigger_share``,
most frequent first) and its defining tags (mean window share among the members >= ``name_tag_share`` and above
its mean over all cases by ``name_tag_lift``, the largest lift first): ``"hard_brake | crosswalk, night"``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import HDBSCAN

from fleetloop.curriculum.config import CurriculumConfig
from fleetloop.curriculum.space import TAG, TRIGGER, CaseSpace

NOISE = -1  # HDBSCAN's label of a case in no cluster
NO_TRIGGER = "mixed"  # the trigger part of a name when no trigger dominates


@dataclass(frozen=True)
class Cluster:
    """One cluster of a run: its members, weighted centroid and what defines it."""

    members: frozenset[str]
    centroid: dict[str, float]
    triggers: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def name(self) -> str:
        return problem_name(self.triggers, self.tags)


def problem_name(triggers: tuple[str, ...], tags: tuple[str, ...]) -> str:
    head = ", ".join(triggers) or NO_TRIGGER
    return f"{head} | {', '.join(tags)}" if tags else head


def cluster_labels(space: CaseSpace, cfg: CurriculumConfig) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN labels (``NOISE`` for unclustered) and membership strengths of the cases of ``space``."""
    n = len(space.case_ids)
    if n < max(cfg.min_cluster_size, 2):
        return np.full(n, NOISE), np.zeros(n)
    model = HDBSCAN(min_cluster_size=cfg.min_cluster_size, min_samples=min(cfg.min_samples, n - 1),
                    metric="euclidean", cluster_selection_method=cfg.cluster_selection, leaf_size=cfg.leaf_size,
                    copy=True).fit(space.matrix)
    return model.labels_.astype(int), model.probabilities_.astype(float)


def _dominant(names: tuple[str, ...], values: np.ndarray, keep: np.ndarray, limit: int) -> tuple[str, ...]:
    order = sorted((i for i in np.nonzero(keep)[0]), key=lambda i: (-values[i], names[i]))
    return tuple(names[i] for i in order[:limit])


def describe(space: CaseSpace, labels: np.ndarray, cfg: CurriculumConfig) -> list[Cluster]:
    """The clusters of a labelling (noise excluded), in label order."""
    cols = np.asarray(space.columns)
    is_trigger = np.char.startswith(cols, TRIGGER)
    is_tag = np.char.startswith(cols, TAG)
    overall = space.raw.mean(axis=0) if len(space.case_ids) else np.zeros(len(cols))
    trigger_names = tuple(c[len(TRIGGER):] for c in cols[is_trigger])
    tag_names = tuple(c[len(TAG):] for c in cols[is_tag])
    ids = np.asarray(space.case_ids)
    out = []
    for label in sorted(set(labels.tolist()) - {NOISE}):
        rows = labels == label
        mean = space.raw[rows].mean(axis=0)
        trig, tag = mean[is_trigger], mean[is_tag]
        triggers = _dominant(trigger_names, trig, trig >= cfg.name_trigger_share, cfg.name_max_triggers)
        lift = tag - overall[is_tag]
        tags = _dominant(tag_names, lift, (tag >= cfg.name_tag_share) & (lift >= cfg.name_tag_lift),
                         cfg.name_max_tags)
        centroid = space.matrix[rows].mean(axis=0)
        out.append(Cluster(frozenset(ids[rows].tolist()), dict(zip(space.columns, centroid.tolist(), strict=True)),
                           triggers, tags))
    return out
