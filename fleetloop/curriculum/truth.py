"""The problems against the simulator's recurring problem families (``<landing>/_truth/problem_episodes.parquet``,
``problem_families.parquet``): each case labelled with the family of the episode it overlaps most, the adjusted
Rand index on those cases, each family's problem, and the order the truth gives the families (frequency x
severity, as the curriculum's value). Read by ``tests/test_curriculum_truth.py`` and
``benchmarks/curriculum_truth.py``."""

from __future__ import annotations

import collections
from pathlib import Path

import duckdb
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from fleetloop.curriculum.config import CASE_FEATURE_TABLE, PROBLEM_CASE_TABLE

EPISODES, FAMILIES = "problem_episodes.parquet", "problem_families.parquet"


def read_truth(truth_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The episodes and the families, or None when the simulator wrote none."""
    paths = Path(truth_dir) / EPISODES, Path(truth_dir) / FAMILIES
    if not all(p.is_file() for p in paths):
        return None
    return pd.read_parquet(paths[0]), pd.read_parquet(paths[1])


def labelled_cases(con: duckdb.DuckDBPyConnection, episodes: pd.DataFrame) -> pd.DataFrame:
    """Per case overlapping an episode of its vehicle: ``case_id``, ``problem_id`` (null: unclustered) and the
    ``family`` of the episode it overlaps longest (ties by episode id)."""
    con.register("_truth_episodes", episodes)
    try:
        return con.execute(f"""
            select c.case_id, c.problem_id, e.family
            from {PROBLEM_CASE_TABLE} as c
            inner join {CASE_FEATURE_TABLE} as f using (case_id)
            inner join _truth_episodes as e
                on e.vehicle_id = f.vehicle_id and e.ts_start <= f.ts_end and f.ts_start <= e.ts_end
            qualify row_number() over (partition by c.case_id order by
                least(e.ts_end, f.ts_end) - greatest(e.ts_start, f.ts_start) desc, e.episode_id) = 1
            order by c.case_id""").df()
    finally:
        con.unregister("_truth_episodes")


def adjusted_rand(cases: pd.DataFrame) -> float:
    """Against the families, each unclustered case a problem of its own (never a match)."""
    predicted = [f"p{p}" if pd.notna(p) else f"loose_{c}"
                 for p, c in zip(cases["problem_id"], cases["case_id"], strict=True)]
    return float(adjusted_rand_score(cases["family"], predicted))


def problem_of_family(cases: pd.DataFrame) -> dict[str, int | None]:
    """Each family's most frequent problem among its cases."""
    return {fam: collections.Counter(g["problem_id"].tolist()).most_common(1)[0][0]
            for fam, g in cases.groupby("family")}


def ranked_families(episodes: pd.DataFrame, families: pd.DataFrame) -> list[str]:
    """The families by episodes x severity, largest first (ties by name)."""
    counts = episodes.groupby("family").size()
    severity = families.set_index("family")["severity"]
    return sorted(families["family"], key=lambda f: (-int(counts.get(f, 0)) * int(severity[f]), f))
