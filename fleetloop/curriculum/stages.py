"""The curriculum (``ads.ads_curriculum``): one stage per active problem a driving policy can learn from (not
one whose defining triggers are all operations tickets of ``seeds/trigger_catalog.csv``), ordered by its value,
with a target sample count, a weight, the packaged solutions available, the clips active mining found, and the
shortfall.

- value = n_failures x mean severity x fix rate (n_failures: members with a trigger outside the catalog's
  interaction family; an interaction trigger marks a scene replayed even when handled well), the fix rate
  (n_improved + prior) / (n_scored + 2 prior): a frequent, severe problem the scorer can fix comes first; one
  never scored counts a fix rate of one half;
- target samples: ``total_target_samples`` shared in proportion to the value, at least ``min_stage_samples``;
- weight: mean severity x (median n_cases of the stages / n_cases), within [1, ``max_weight``]: rare and severe
  problems are weighted up;
- available = packages (ScenarioSolutionPair files of improved members) + mined clips
  (``ads.ads_mined_case`` of the problem's mining query); shortfall = target - available, at least 0.
Active mining (``active_mining.py``) runs between the two passes: the first sizes the shortfall, the second
counts what mining queued."""

from __future__ import annotations

import duckdb

from fleetloop.curriculum.config import CURRICULUM_TABLE, PROBLEM_TABLE, CurriculumConfig
from fleetloop.curriculum.tables import records, write_rows
from fleetloop.definitions import trigger_catalog
from fleetloop.mining.queue import MINED_TABLE, has_table, normalised

OPS_TICKET = "ops_ticket"  # the catalog action of operations cases, never replayed
COLUMNS = (
    ("stage", "integer", "1 first: stages in order of value"),
    ("problem_id", "bigint", "the problem (ads.ads_problem)"),
    ("name", "varchar", "the problem's name"),
    ("n_cases", "bigint", "member cases"),
    ("mean_severity", "double", "mean case severity"),
    ("n_scored", "bigint", "members the scorer replayed"),
    ("n_improved", "bigint", "members with an improving solution"),
    ("fix_rate", "double", "(n_improved + prior) / (n_scored + 2 prior)"),
    ("n_failures", "bigint", "members with a failure trigger (not only interaction triggers)"),
    ("value", "double", "n_failures x mean_severity x fix_rate"),
    ("target_samples", "bigint", "training samples the stage asks for"),
    ("weight", "double", "sample weight: rare and severe problems up, within [1, max_weight]"),
    ("n_packages", "bigint", "ScenarioSolutionPair packages of the members"),
    ("mining_query", "varchar", "the active-mining query (defining tags), null without tags"),
    ("n_mined_clips", "bigint", "clips of the mining query queued in ads.ads_mined_case"),
    ("shortfall", "bigint", "target_samples - n_packages - n_mined_clips, at least 0"),
)


def mined_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Queued mined cases per (normalised) query."""
    if not has_table(con, MINED_TABLE):
        return {}
    return dict(con.execute(f"select query, count(*) from {MINED_TABLE} group by query").fetchall())


def trainable(problem: dict) -> bool:
    """Whether a problem is a driving matter: some defining trigger is not an operations ticket."""
    catalog = trigger_catalog()
    triggers = problem["defining_triggers"] or []
    return not triggers or any(catalog[t]["action"] != OPS_TICKET for t in triggers if t in catalog)


def stage_rows(problems: list[dict], mined: dict[str, int], cfg: CurriculumConfig) -> list[dict]:
    """The stages of ``problems`` (active rows of ``ads.ads_problem``), ordered by value (ties: problem id)."""
    rows = []
    for p in filter(trainable, problems):
        fix = (p["n_improved"] + cfg.fix_rate_prior) / (p["n_scored"] + 2 * cfg.fix_rate_prior)
        rows.append({**{k: p[k] for k in ("problem_id", "name", "n_cases", "n_failures", "mean_severity",
                                          "n_scored", "n_improved", "n_packages", "mining_query")},
                     "fix_rate": fix, "value": p["n_failures"] * p["mean_severity"] * fix})
    rows.sort(key=lambda r: (-r["value"], r["problem_id"]))
    total = sum(r["value"] for r in rows)
    counts = sorted(r["n_cases"] for r in rows)
    median = (counts[(len(counts) - 1) // 2] + counts[len(counts) // 2]) / 2 if counts else 0.0
    for stage, r in enumerate(rows, start=1):
        target = max(cfg.min_stage_samples, round(cfg.total_target_samples * r["value"] / total)) if total else 0
        weight = min(cfg.max_weight, max(1.0, r["mean_severity"] * median / r["n_cases"]))
        n_mined = mined.get(normalised(r["mining_query"]), 0) if r["mining_query"] else 0
        r.update(stage=stage, target_samples=target, weight=round(weight, 2), n_mined_clips=n_mined,
                 shortfall=max(0, target - r["n_packages"] - n_mined))
    return rows


def build_curriculum(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig) -> list[dict]:
    """Replace ``ads.ads_curriculum`` from the active problems and the mined queue; return its rows."""
    problems = records(con, f"select * from {PROBLEM_TABLE} where status = 'active' order by problem_id")
    rows = stage_rows(problems, mined_counts(con), cfg)
    write_rows(con, CURRICULUM_TABLE, COLUMNS, rows)
    return rows
