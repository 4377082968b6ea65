"""The nightly scorer run over one day of the case queue (plain library; the Dagster asset calls it).

Top-K cases of ``ads.ads_case_queue`` for the day by queue_rank: perception-suspect ones (action
'raw_upload') become raw-upload requests, the others are replayed, scored and, when improved, packaged
to ``<packages>/dt=<day>/<case_id>.sspair``. Results go to schema ``scorer`` (tables solutions,
upload_plan, raw_upload_requests), replacing the day. Each case's seed is the run seed mixed with a CRC
of its case id, so results do not depend on the order or the number of cases scored.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from fleetloop.paths import parse_partition
from fleetloop.scorer import package, routing
from fleetloop.scorer.scoring import AXES, COMPONENTS
from fleetloop.scorer.solve import SearchConfig, solve
from fleetloop.scorer.warehouse_scene import load_case

SCORE_KEYS = COMPONENTS + ("pdms",)
DDL = {
    "solutions": (
        "dt date, case_id varchar, vehicle_id varchar, site_id varchar, vehicle_class varchar, queue_rank bigint, "
        "severity integer, uncertainty double, status varchar, reason varchar, n_candidates integer, "
        "n_feasible integer, n_pruned integer, n_improving integer, pareto_front integer, "
        + ", ".join(f"log_{k} double" for k in SCORE_KEYS) + ", "
        + ", ".join(f"sol_{k} double" for k in SCORE_KEYS) + ", "
        "log_hard_brake_tier integer, sol_hard_brake_tier integer, delta_pdms double, improvement double, "
        "robustness_variants integer, robust_collision_free_share double, robust_better_share double, "
        "package_path varchar, package_bytes bigint, raw_bytes bigint, compression_ratio double, solve_seconds double"
    ),
    "upload_plan": (
        "dt date, upload_rank integer, case_id varchar, kind varchar, bytes bigint, severity integer, "
        "uncertainty double, improvement double, value double, selected boolean, cumulative_bytes bigint"
    ),
    "raw_upload_requests": (
        "dt date, case_id varchar, vehicle_id varchar, ts_start timestamptz, ts_end timestamptz, reason varchar, "
        "est_bytes bigint"
    ),
}


@dataclass
class NightlyConfig:
    top_k: int = 20
    seed: int = 0
    budget_bytes: int = 50_000_000
    robustness_variants: int = 24
    reactive: bool = False


def case_seed(seed: int, case_id: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(case_id.encode())) % 2**32


def _queue(con, day: dt.date, top_k: int) -> list[dict]:
    cur = con.execute("select * from ads.ads_case_queue where dt = ? order by queue_rank limit ?", [day, top_k])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _solution_row(case: dict, day: dt.date) -> dict:
    row = {k: None for k in _columns("solutions")}
    row.update(dt=day, case_id=case["case_id"], vehicle_id=case["vehicle_id"], site_id=case["site_id"],
               vehicle_class=case["vehicle_class"], queue_rank=case["queue_rank"], severity=case["severity"],
               uncertainty=case["uncertainty"])
    return row


def score_case(con, case: dict, day: dt.date, packages_dir: Path, cfg: NightlyConfig) -> dict:
    """Replay one queued case; a case that cannot be rebuilt gets status 'error' with the reason."""
    row = _solution_row(case, day)
    clock = time.perf_counter()
    try:
        scene = load_case(con, case["case_id"])
        result = solve(scene, SearchConfig(seed=case_seed(cfg.seed, case["case_id"]), reactive=cfg.reactive,
                                           robustness_variants=cfg.robustness_variants))
    except (ValueError, KeyError) as exc:
        row.update(status="error", reason=str(exc), solve_seconds=time.perf_counter() - clock)
        return row
    counts = result.counts()
    row.update(
        status="improved" if result.improved else "log_best",
        reason=("; ".join(p["detail"] for p in result.decision_points()[:1]) if result.improved
                else "no candidate beats the log"),
        n_candidates=counts["candidates"], n_feasible=counts["feasible"], n_pruned=counts["pruned"],
        n_improving=counts["improving"], pareto_front=counts["pareto_front"],
        log_hard_brake_tier=int(result.log_scores["hard_brake_tier"]),
        raw_bytes=scene.metadata.get("raw_bytes"), solve_seconds=result.timings_s["total"],
    )
    row.update({f"log_{k}": result.log_scores[k] for k in SCORE_KEYS})
    if result.improved:
        sol = result.solution_scores
        row.update({f"sol_{k}": sol[k] for k in SCORE_KEYS})
        row.update(sol_hard_brake_tier=int(sol["hard_brake_tier"]), delta_pdms=sol["pdms"] - result.log_scores["pdms"],
                   improvement=sum(max(sol[a] - result.log_scores[a], 0.0) for a in AXES))
        rob = result.robustness or {}
        row.update(robustness_variants=rob.get("variants"), robust_collision_free_share=rob.get("collision_free_share"),
                   robust_better_share=rob.get("better_share"))
        blob = package.encode(package.build(result))
        path = packages_dir / f"dt={day.isoformat()}" / f"{case['case_id']}.sspair"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        row.update(package_path=str(path), package_bytes=len(blob),
                   compression_ratio=(row["raw_bytes"] / len(blob)) if row["raw_bytes"] else None)
    return row


def run_nightly(con, day, packages_dir: Path, cfg: NightlyConfig | None = None) -> dict[str, list[dict]]:
    """Score the day's top-K cases; returns the rows of the three scorer tables (not yet written)."""
    cfg = cfg or NightlyConfig()
    day = parse_partition(day)
    solutions, raws = [], []
    for case in _queue(con, day, cfg.top_k):
        if case["action"] == "raw_upload" or case["perception_suspect"]:
            req = routing.raw_upload_request(case)
            raws.append({"dt": day, **vars(req)})
        else:
            solutions.append(score_case(con, case, day, Path(packages_dir), cfg))
    items = [{"case_id": r["case_id"], "kind": "solution", "bytes": r["package_bytes"], "severity": r["severity"],
              "uncertainty": r["uncertainty"], "improvement": r["improvement"]}
             for r in solutions if r["status"] == "improved"]
    sev = {r["case_id"]: (r["severity"], r["uncertainty"]) for r in _queue(con, day, cfg.top_k)}
    items += [{"case_id": r["case_id"], "kind": "raw", "bytes": r["est_bytes"], "severity": sev[r["case_id"]][0],
               "uncertainty": sev[r["case_id"]][1], "improvement": routing.RAW_IMPROVEMENT} for r in raws]
    plan = [{"dt": day, "upload_rank": p.pop("rank"), **p} for p in routing.plan_uploads(items, cfg.budget_bytes)]
    return {"solutions": solutions, "upload_plan": plan, "raw_upload_requests": raws}


def _columns(table: str) -> list[str]:
    return [c.strip().split(" ")[0] for c in DDL[table].split(",")]


def write_tables(con, day, tables: dict[str, list[dict]]) -> dict[str, int]:
    """Replace the day in scorer.solutions, scorer.upload_plan and scorer.raw_upload_requests."""
    day = parse_partition(day)
    con.execute("create schema if not exists scorer")
    counts = {}
    for name, rows in tables.items():
        cols = _columns(name)
        con.execute(f"create table if not exists scorer.{name} ({DDL[name]})")
        con.execute(f"delete from scorer.{name} where dt = ?", [day])
        if rows:
            marks = ", ".join("?" for _ in cols)
            con.executemany(f"insert into scorer.{name} ({', '.join(cols)}) values ({marks})",
                            [[r.get(c) for c in cols] for r in rows])
        counts[name] = len(rows)
    return counts
