"""Clustering run time of the problems on a 50-vehicle x 30-day case set: synthetic case feature rows of the
warehouse's shape (triggers, window shares of the seed's clustering tags, site, class), a number of recurring
problem families plus one-off cases, through the case space, HDBSCAN, the names and the stable-id matching
against the previous run. Prints cases, seconds per step and the adjusted Rand index against the synthetic
families.

    .venv/bin/python benchmarks/bench_curriculum.py [--vehicles 50] [--days 30] [--cases-per-vehicle-day 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from fleetloop.curriculum.clusters import cluster_labels, describe
from fleetloop.curriculum.config import DEFAULT_CONFIG
from fleetloop.curriculum.identity import StoredProblem, match
from fleetloop.curriculum.space import case_space
from fleetloop.definitions import trigger_catalog
from fleetloop.mining.tags import load_tags

SITES, CLASSES = ("bj_yizhuang", "sz_nanshan", "su_logistics"), ("urban_delivery", "campus_robot", "highway_truck")
FAMILIES = 12
FAMILY_SHARE = 0.6  # of the cases; the rest are one-offs
TAGS_PER_FAMILY, TAGS_PER_CASE = 4, 12


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    tags = [t for t in load_tags() if t.family in DEFAULT_CONFIG.tag_families]
    triggers = sorted(trigger_catalog())
    family = np.where(rng.random(n) < FAMILY_SHARE, rng.integers(0, FAMILIES, n), -1)
    profiles = [(rng.choice(triggers, 1 + f % 2, replace=False).tolist(), rng.choice(len(tags), TAGS_PER_FAMILY,
                 replace=False), SITES[f % len(SITES)], CLASSES[f % len(CLASSES)]) for f in range(FAMILIES)]
    cases, rows = [], []
    for i in range(n):
        case_id = f"case_{i:08d}"
        if family[i] >= 0:
            trig, core, site, cls = profiles[family[i]]
            picked = [(j, 0.75 + 0.25 * rng.random()) for j in core]
        else:
            trig = rng.choice(triggers, rng.integers(1, 3), replace=False).tolist()
            site, cls, picked = SITES[rng.integers(len(SITES))], CLASSES[rng.integers(len(CLASSES))], []
        picked += [(j, rng.random()) for j in rng.choice(len(tags), TAGS_PER_CASE, replace=False)]
        cases.append({"case_id": case_id, "triggers": trig, "site_id": site, "vehicle_class": cls})
        rows += [{"case_id": case_id, "tag": tags[j].name, "family": tags[j].family, "share": s} for j, s in picked]
    return pd.DataFrame(cases), pd.DataFrame(rows).drop_duplicates(["case_id", "tag"]), family


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vehicles", type=int, default=50)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--cases-per-vehicle-day", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    n = args.vehicles * args.days * args.cases_per_vehicle_day
    cases, tags, family = synthetic(n, args.seed)
    cfg = DEFAULT_CONFIG
    clock = time.perf_counter()
    space = case_space(cases, tags, cfg)
    t_space = time.perf_counter() - clock
    clock = time.perf_counter()
    labels, _ = cluster_labels(space, cfg)
    t_cluster = time.perf_counter() - clock
    clock = time.perf_counter()
    clusters = describe(space, labels, cfg)
    stored = [StoredProblem(i + 1, c.members, c.centroid) for i, c in enumerate(clusters)]
    ids = match(clusters, stored, cfg, frozenset(space.case_ids))
    t_match = time.perf_counter() - clock
    order = np.argsort(cases["case_id"].to_numpy())
    truth = np.where(family[order] >= 0, family[order], -1 - np.arange(n))  # one-offs: singletons
    pred = np.where(labels >= 0, labels, -1 - np.arange(n) - n)
    print(f"cases {n:,} ({args.vehicles} vehicles x {args.days} days x {args.cases_per_vehicle_day}), "
          f"features {space.matrix.shape[1]}, tag rows {len(tags):,}")
    print(f"case space {t_space:.2f} s, HDBSCAN {t_cluster:.2f} s, names + matching {t_match:.2f} s, "
          f"total {t_space + t_cluster + t_match:.2f} s")
    print(f"clusters {len(clusters)}, unclustered {(labels < 0).sum():,}, ids kept on a re-run "
          f"{sum(pid == i + 1 for i, (pid, _) in enumerate(ids))}/{len(ids)}, "
          f"adjusted Rand index vs the synthetic families {adjusted_rand_score(truth, pred):.3f}")


if __name__ == "__main__":
    main()
