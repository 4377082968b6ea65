"""Problems of a run: the cases clustered (``clusters.py``), the clusters given their stable ids
(``identity.py``) and written to ``ads.ads_problem`` (every problem ever found, active or dormant) and
``ads.ads_problem_case`` (every case, ``problem_id`` null when unclustered)."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

from fleetloop.curriculum.clusters import NOISE, Cluster, cluster_labels, describe
from fleetloop.curriculum.config import PROBLEM_CASE_TABLE, PROBLEM_TABLE, CurriculumConfig
from fleetloop.curriculum.identity import StoredProblem, match
from fleetloop.curriculum.space import read_case_space
from fleetloop.curriculum.tables import records, write_rows
from fleetloop.definitions import trigger_catalog
from fleetloop.mining.queue import has_table
from fleetloop.mining.tags import load_tags

ACTIVE, DORMANT = "active", "dormant"
INTERACTION = "interaction"  # the catalog family of triggers that fire on a scene, handled well or not
PROBLEM_COLUMNS = (
    ("problem_id", "bigint", "stable id: kept across daily re-clustering (docs/curriculum.md)"),
    ("name", "varchar", "dominant triggers | defining tags"),
    ("status", "varchar", "'active' (a cluster of this run) or 'dormant' (matched by no cluster of this run)"),
    ("matched_by", "varchar", "how this run's cluster got the id: 'new', 'members' (Jaccard) or 'centroid'"),
    ("defining_triggers", "varchar[]", "triggers most members have"),
    ("defining_tags", "varchar[]", "tags the members' windows hold far more than the average case's"),
    ("scene_tags", "varchar[]", "the defining tags of the world (time and light, weather, map, agents): the scene "
                                "whose km are the problem's exposure in its trends"),
    ("mining_query", "varchar", "the conjunction of the defining tags (fleetloop mine), null without tags"),
    ("n_cases", "bigint", "member cases in this run"),
    ("n_failures", "bigint", "members with a trigger outside the catalog's interaction family (a failure, not only "
                             "a scene replayed even when handled well)"),
    ("n_vehicles", "bigint", "vehicles among the members"),
    ("sites", "varchar[]", "sites of the members"),
    ("versions", "varchar[]", "software versions of the members"),
    ("first_dt", "date", "day of the earliest member"),
    ("last_dt", "date", "day of the latest member"),
    ("first_seen_dt", "date", "the latest case day of the run that created the problem"),
    ("mean_severity", "double", "mean case severity of the members"),
    ("n_scored", "bigint", "members the counterfactual scorer replayed"),
    ("n_improved", "bigint", "members with a solution that resolves their trigger"),
    ("n_packages", "bigint", "members with a ScenarioSolutionPair package"),
    ("centroid", "varchar", "weighted centroid in the case space, JSON {column: value}"),
)
PROBLEM_CASE_COLUMNS = (
    ("case_id", "varchar", "the case (dwd.dwd_case)"),
    ("dt", "date", "UTC day of the case"),
    ("version", "varchar", "software version of the case"),
    ("problem_id", "bigint", "its problem; null: unclustered (in no dense region, never forced)"),
    ("membership", "double", "HDBSCAN membership strength in [0, 1]; 0 when unclustered"),
)


def is_failure(triggers) -> bool:
    """Whether a case's triggers include one that marks a failure (not the catalog's interaction family)."""
    catalog = trigger_catalog()
    return any(t in catalog and catalog[t]["family"] != INTERACTION for t in triggers)


def mining_query(tags: tuple[str, ...]) -> str | None:
    return " and ".join(tags) if tags else None


def read_stored(con: duckdb.DuckDBPyConnection) -> tuple[list[StoredProblem], dict[int, dict], frozenset[str]]:
    """The problems the last run stored (with their members), their rows, and every case it clustered."""
    if not (has_table(con, PROBLEM_TABLE) and has_table(con, PROBLEM_CASE_TABLE)):
        return [], {}, frozenset()
    rows = records(con, f"select * from {PROBLEM_TABLE} order by problem_id")
    members: dict[int, set[str]] = {}
    known = set()
    for case_id, pid in con.execute(f"select case_id, problem_id from {PROBLEM_CASE_TABLE}").fetchall():
        known.add(case_id)
        if pid is not None:
            members.setdefault(int(pid), set()).add(case_id)
    stored = [StoredProblem(int(r["problem_id"]), frozenset(members.get(int(r["problem_id"]), ())),
                            json.loads(r["centroid"])) for r in rows]
    return stored, {int(r["problem_id"]): r for r in rows}, frozenset(known)


def _problem_row(pid: int, how: str, cluster: Cluster, members: pd.DataFrame, first_seen, previous: dict | None,
                 scene_tags: list[str]):
    scored = members["scorer_status"].notna()
    return {
        "problem_id": pid, "name": cluster.name, "status": ACTIVE, "matched_by": how,
        "defining_triggers": list(cluster.triggers), "defining_tags": list(cluster.tags), "scene_tags": scene_tags,
        "mining_query": mining_query(cluster.tags), "n_cases": len(members),
        "n_failures": int(members["triggers"].map(is_failure).sum()),
        "n_vehicles": members["vehicle_id"].nunique(), "sites": sorted(members["site_id"].dropna().unique()),
        "versions": sorted(members["version"].dropna().unique()), "first_dt": members["dt"].min(),
        "last_dt": members["dt"].max(), "first_seen_dt": previous["first_seen_dt"] if previous else first_seen,
        "mean_severity": float(members["severity"].mean()), "n_scored": int(scored.sum()),
        "n_improved": int((members["scorer_status"] == "improved").sum()),
        "n_packages": int(members["package_path"].notna().sum()),
        "centroid": json.dumps(cluster.centroid, sort_keys=True),
    }


def build_problems(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig) -> dict[str, int]:
    """Cluster every case of ``ads.ads_case_feature``, match to the stored problems, replace both tables."""
    space, cases = read_case_space(con, cfg)
    labels, strength = cluster_labels(space, cfg)
    clusters = describe(space, labels, cfg)
    stored, previous, known = read_stored(con)
    ids = match(clusters, stored, cfg, known)
    first_seen = cases["dt"].max() if len(cases) else None
    by_label = dict(zip(sorted(set(labels.tolist()) - {NOISE}), ids, strict=True))
    problem_of = np.array([by_label[lab][0] if lab != NOISE else None for lab in labels], dtype=object)
    cases = cases.assign(problem_id=problem_of, membership=np.where(labels == NOISE, 0.0, strength))
    family = {t.name: t.family for t in load_tags()}
    rows = [_problem_row(pid, how, c, cases[cases["problem_id"] == pid], first_seen, previous.get(pid),
                         [t for t in c.tags if family.get(t) in cfg.scene_tag_families])
            for c, (pid, how) in zip(clusters, ids, strict=True)]
    active = {r["problem_id"] for r in rows}
    rows += [prev | {"status": DORMANT, "matched_by": None, "n_cases": 0, "n_failures": 0, "n_vehicles": 0,
                     "n_scored": 0,
                     "n_improved": 0, "n_packages": 0}
             for pid, prev in previous.items() if pid not in active]
    rows.sort(key=lambda r: r["problem_id"])
    case_rows = cases[[c for c, _, _ in PROBLEM_CASE_COLUMNS]].to_dict("records")
    for r in case_rows:
        r["problem_id"] = None if r["problem_id"] is None else int(r["problem_id"])
    return {PROBLEM_TABLE: write_rows(con, PROBLEM_TABLE, PROBLEM_COLUMNS, rows),
            PROBLEM_CASE_TABLE: write_rows(con, PROBLEM_CASE_TABLE, PROBLEM_CASE_COLUMNS, case_rows)}
