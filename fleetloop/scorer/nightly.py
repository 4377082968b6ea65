"""The nightly scorer run over one day of the case queue (plain library; the Dagster asset calls it).

Every case of ``ads.ads_case_queue`` for the day in queue_rank order (with the mined cases of ``fleetloop mine
--to-queue`` after the day's triggered ones, ``fleetloop.mining.queue``), routed by the action the trigger
catalog (``seeds/trigger_catalog.csv``) or the mining gives them: perception-suspect ones (action 'raw_upload')
become raw-upload requests; 'counterfactual' ones are replayed and scored, and packaged to
``<packages>/dt=<day>/<case_id>.sspair`` when a solution resolves one of their triggers
(``fleetloop.scorer.select``); operations cases ('ops_ticket': offline, error_burst, site_anomaly,
call_guard) are never replayed: they are tickets in ``ads.ads_ops_queue``. Results go to schema ``scorer``
(tables solutions, upload_plan, raw_upload_requests, not_reached), replacing the day. Status of a replayed case:
'improved' (a solution resolves the trigger named in resolved_trigger, with the check resolved_by, from
log_tier to sol_tier; a mined case, named by its ``mined:<query>`` trigger, is judged as a scene by
``component_fix``), 'log_best' (the reason says why) or 'error' (the scene could not be rebuilt).

The replays run on ``NightlyConfig.processes`` worker processes (``fleetloop.scorer.parallel``: the scenes are
loaded here, beside the run's DuckDB connection, and shipped to the workers) within ``budget_s`` of wall time;
the queue's order decides who goes first. A case the budget (or a ``top_k`` cap) leaves unscored is a row of
``scorer.not_reached`` with its cause, never dropped: scored + not reached + raw uploads = the day's queue. Each
case's seed is the run seed mixed with a CRC of its case id, so results do not depend on the order, the number
of cases scored or the number of processes.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

from fleetloop.mining.queue import case_queue_sql
from fleetloop.paths import parse_partition
from fleetloop.scorer import package, parallel, routing
from fleetloop.scorer.scene import Scene
from fleetloop.scorer.scoring import COMPONENTS
from fleetloop.scorer.solve import SearchConfig, solve
from fleetloop.scorer.spark_fanout import spark_fan_out
from fleetloop.scorer.warehouse_scene import load_case
from fleetloop.warehouse import insert_rows

SCORE_KEYS = COMPONENTS + ("pdms",)
REPLAY, RAW = "counterfactual", "raw_upload"  # queue actions (seeds/trigger_catalog.csv); others are not replayed
GAIN_AXES = ("safety", "comfort", "compliance")  # what the upload value counts beside the tier drop (never EP)
TIME_BUDGET, CASE_LIMIT = "time_budget", "case_limit"  # why a queued case was not reached (scorer.not_reached)


class Column(NamedTuple):
    """One column of a scorer table."""

    name: str
    duckdb_type: str
    description: str


def _score_columns(side: str, whose: str) -> tuple[Column, ...]:
    return tuple(Column(f"{side}_{k}", "double", f"{k.upper()} of {whose} (extended score, fleetloop.scorer.scoring)")
                 for k in SCORE_KEYS)


CASE = "the case (dwd.dwd_case)"
TABLES: dict[str, tuple[Column, ...]] = {  # the scorer tables in schema scorer, each with a day column dt
    "solutions": (
        Column("dt", "date", "the run day (UTC) whose case queue was scored"),
        Column("case_id", "varchar", CASE),
        Column("vehicle_id", "varchar", "vehicle of the case"),
        Column("site_id", "varchar", "site of the case"),
        Column("vehicle_class", "varchar", "vehicle class (seeds/vehicle_classes.csv): the feasibility limits used"),
        Column("queue_rank", "bigint", "rank in ads.ads_case_queue for the day"),
        Column("severity", "integer", "case severity from the queue"),
        Column("uncertainty", "double", "case uncertainty from the queue"),
        Column("status", "varchar", "'improved', 'log_best' or 'error'"),
        Column("reason", "varchar", "what the solution resolves, why the log is best, or why the scene failed"),
        Column("resolved_trigger", "varchar", "trigger whose problem the solution resolves (improved only)"),
        Column("resolved_by", "varchar", "the catalog check that decided it (seeds/trigger_catalog.csv)"),
        Column("log_tier", "integer", "the log's tier on the primary trigger's check"),
        Column("sol_tier", "integer", "the solution's tier on that check (improved only)"),
        Column("n_candidates", "integer", "candidate trajectories searched"),
        Column("n_feasible", "integer", "candidates within the vehicle class's limits"),
        Column("n_pruned", "integer", "candidates dropped early by a failed safety component"),
        Column("n_improving", "integer", "candidates that resolve a trigger and are no worse elsewhere"),
        Column("pareto_front", "integer", "improving candidates on the Pareto front of the axes"),
        *_score_columns("log", "the log"),
        *_score_columns("sol", "the solution"),
        Column("log_hard_brake_tier", "integer", "the log's hard_brake tier (0 none .. 3 severe)"),
        Column("sol_hard_brake_tier", "integer", "the solution's hard_brake tier (0 none .. 3 severe)"),
        Column("delta_pdms", "double", "solution PDMS minus log PDMS"),
        Column("improvement", "double", "tier drop plus safety, comfort and compliance gains (upload value)"),
        Column("robustness_variants", "integer", "what-if variants the solution was re-checked on"),
        Column("robust_collision_free_share", "double", "share of variants without an at-fault collision"),
        Column("robust_better_share", "double", "share of variants where the solution still improves on the log"),
        Column("package_path", "varchar", "the ScenarioSolutionPair file"),
        Column("package_bytes", "bigint", "size of the package [B]"),
        Column("raw_bytes", "bigint", "size of the scene's raw rows [B]"),
        Column("compression_ratio", "double", "raw_bytes / package_bytes"),
        Column("solve_seconds", "double", "wall time of the case [s]"),
    ),
    "not_reached": (  # queued cases the night left unscored: scored + not reached + raw uploads = the queue
        Column("dt", "date", "the run day (UTC) whose case queue was scored"),
        Column("case_id", "varchar", CASE),
        Column("vehicle_id", "varchar", "vehicle of the case"),
        Column("site_id", "varchar", "site of the case"),
        Column("queue_rank", "bigint", "rank in ads.ads_case_queue for the day"),
        Column("action", "varchar", "the queue's action for the case ('counterfactual' or 'raw_upload')"),
        Column("severity", "integer", "case severity from the queue"),
        Column("uncertainty", "double", "case uncertainty from the queue"),
        Column("cause", "varchar", f"'{TIME_BUDGET}' (the night's time budget was spent before the case began) "
                                   f"or '{CASE_LIMIT}' (beyond the run's top_k cap)"),
        Column("reason", "varchar", "the budget or the cap, in words"),
    ),
    "upload_plan": (
        Column("dt", "date", "the run day (UTC)"),
        Column("upload_rank", "integer", "rank by upload value (1 first)"),
        Column("case_id", "varchar", CASE),
        Column("kind", "varchar", "'solution' (a package) or 'raw' (a raw sensor window)"),
        Column("bytes", "bigint", "size to upload [B]"),
        Column("severity", "integer", "case severity from the queue"),
        Column("uncertainty", "double", "case uncertainty from the queue"),
        Column("improvement", "double", "the solution's improvement, or the raw request's fixed value"),
        Column("value", "double", "severity x uncertainty (floored) x improvement"),
        Column("selected", "boolean", "taken within the night's byte budget"),
        Column("cumulative_bytes", "bigint", "bytes selected up to this rank [B]"),
    ),
    "raw_upload_requests": (
        Column("dt", "date", "the run day (UTC)"),
        Column("case_id", "varchar", CASE),
        Column("vehicle_id", "varchar", "vehicle to upload from"),
        Column("ts_start", "timestamptz", "start of the raw sensor window (UTC)"),
        Column("ts_end", "timestamptz", "end of the raw sensor window (UTC)"),
        Column("reason", "varchar", "why the case is perception-suspect"),
        Column("est_bytes", "bigint", "estimated size of the window's raw sensor data [B]"),
    ),
}


def columns(table: str) -> list[str]:
    """Column names of a scorer table, in order."""
    return [c.name for c in TABLES[table]]


def ddl(table: str) -> str:
    """``create table if not exists`` of a scorer table."""
    declared = ", ".join(f"{c.name} {c.duckdb_type}" for c in TABLES[table])
    return f"create table if not exists scorer.{table} ({declared})"


@dataclass
class NightlyConfig:
    """One night's run. ``budget_s``: wall seconds for the replays, None for no limit; ``processes``: worker
    processes, 1 replays in this process (the Dagster asset fills both from the settings: the night window and
    the machine's cores); ``top_k``: at most this many cases from the head of the queue, the rest reported as not
    reached (None: the whole queue, within the budget)."""

    top_k: int | None = None
    seed: int = 0
    budget_bytes: int = 50_000_000
    robustness_variants: int = 24
    reactive: bool = False
    budget_s: float | None = None
    processes: int = 1


def case_seed(seed: int, case_id: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(case_id.encode())) % 2**32


def _queue(con, day: dt.date) -> list[dict]:
    cur = con.execute(f"select * from {case_queue_sql(con)} where dt = ? and action in (?, ?) order by queue_rank, "
                      "case_id", [day, REPLAY, RAW])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _solution_row(case: dict, day: dt.date) -> dict:
    row = dict.fromkeys(columns("solutions"))
    row.update(dt=day, case_id=case["case_id"], vehicle_id=case["vehicle_id"], site_id=case["site_id"],
               vehicle_class=case["vehicle_class"], queue_rank=case["queue_rank"], severity=case["severity"],
               uncertainty=case["uncertainty"])
    return row


def _load(con, day: dt.date, case: dict) -> tuple[dict, Scene] | parallel.Done:
    """The case's scene, read here beside the run's connection; a scene that cannot be rebuilt is its 'error'
    row at once."""
    clock = time.perf_counter()
    try:
        return case, load_case(con, case["case_id"])
    except (ValueError, KeyError) as exc:
        return parallel.Done(_solution_row(case, day) | {"status": "error", "reason": str(exc),
                                                         "solve_seconds": time.perf_counter() - clock})


def score_scene(loaded: tuple[dict, Scene], day: dt.date, packages_dir: Path, cfg: NightlyConfig) -> dict:
    """Replay one queued case on its scene (in a worker process or here); a search that fails on the scene gets
    status 'error' with the reason."""
    case, scene = loaded
    row = _solution_row(case, day)
    clock = time.perf_counter()
    try:
        result = solve(scene, SearchConfig(seed=case_seed(cfg.seed, case["case_id"]), reactive=cfg.reactive,
                                           robustness_variants=cfg.robustness_variants))
    except (ValueError, KeyError) as exc:
        row.update(status="error", reason=str(exc), solve_seconds=time.perf_counter() - clock)
        return row
    counts = result.counts()
    log = result.log_scores
    res = result.resolution()
    primary = next((r for r in res if r["resolved"]), res[0] if res else None)
    row.update(
        status="improved" if result.improved else "log_best",
        reason=_reason(result),
        resolved_trigger=(primary["trigger"] or case["triggers"][0]) if result.improved else None,
        resolved_by=primary["check"] if result.improved else None,
        log_tier=None if primary is None else primary["log_tier"],
        sol_tier=primary["solution_tier"] if result.improved else None,
        n_candidates=counts["candidates"], n_feasible=counts["feasible"], n_pruned=counts["pruned"],
        n_improving=counts["improving"], pareto_front=counts["pareto_front"],
        log_hard_brake_tier=int(log["hard_brake_tier"]),
        raw_bytes=scene.metadata.get("raw_bytes"), solve_seconds=result.timings_s["total"],
    )
    row.update({f"log_{k}": log[k] for k in SCORE_KEYS})
    if result.improved:
        sol = result.solution_scores
        row.update({f"sol_{k}": sol[k] for k in SCORE_KEYS})
        row.update(sol_hard_brake_tier=int(sol["hard_brake_tier"]), delta_pdms=sol["pdms"] - log["pdms"],
                   improvement=improvement(primary, sol, log))
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


def _reason(result) -> str:
    """What the solution resolves and where it departs from the log, or why the log is best."""
    if not result.improved:
        return result.verdict()
    points = result.decision_points()
    return points[0]["detail"] if points else result.verdict()


def improvement(primary: dict, sol: dict[str, float], log: dict[str, float]) -> float:
    """The upload value's improvement: the tier the solution drops on the resolved trigger's check plus its
    gains on the safety, comfort and compliance axes (progress never counts)."""
    gain = sum(max(sol[a] - log[a], 0.0) for a in GAIN_AXES)
    return float(primary["log_tier"] - primary["solution_tier"]) + gain


def _not_reached_row(case: dict, day: dt.date, cause: str, reason: str) -> dict:
    return {"dt": day, "case_id": case["case_id"], "vehicle_id": case["vehicle_id"], "site_id": case["site_id"],
            "queue_rank": case["queue_rank"], "action": case["action"], "severity": case["severity"],
            "uncertainty": case["uncertainty"], "cause": cause, "reason": reason}


def run_nightly(con, day, packages_dir: Path, cfg: NightlyConfig | None = None,
                spark=None) -> dict[str, list[dict]]:
    """Score the day's queue in queue order within the config's budget; returns the rows of the four scorer
    tables (not yet written). With a Spark session ``spark`` the replays run as Spark tasks
    (``spark_fanout``), else on ``cfg.processes`` local processes; the rows are the same."""
    cfg = cfg or NightlyConfig()
    day = parse_partition(day)
    clock = time.monotonic()
    queue = _queue(con, day)
    head = queue if cfg.top_k is None else queue[:cfg.top_k]
    not_reached = [_not_reached_row(c, day, CASE_LIMIT, f"beyond the first {cfg.top_k} cases of the queue (top_k)")
                   for c in queue[len(head):]]
    raws, replays = [], []
    for case in head:
        if case["action"] == RAW or case["perception_suspect"]:
            raws.append({"dt": day, **vars(routing.raw_upload_request(case))})
        elif case["action"] == REPLAY:
            replays.append(case)
    deadline = None if cfg.budget_s is None else clock + cfg.budget_s
    load = partial(_load, con, day)
    score = partial(score_scene, day=day, packages_dir=Path(packages_dir), cfg=cfg)
    if spark is None:
        results = parallel.fan_out(replays, load, score, cfg.processes, deadline)
    else:
        results = spark_fan_out(spark, replays, load, score, deadline)
    workers = f"{cfg.processes} processes" if spark is None else "Spark"
    solutions = [r for r in results if r is not parallel.NOT_REACHED]
    late = [_not_reached_row(c, day, TIME_BUDGET, f"the time budget of {cfg.budget_s:g} s on {workers} "
                             "was spent before the case began")
            for c, r in zip(replays, results, strict=True) if r is parallel.NOT_REACHED]
    not_reached = sorted(late + not_reached, key=lambda r: (r["queue_rank"], r["case_id"]))
    items = [{"case_id": r["case_id"], "kind": "solution", "bytes": r["package_bytes"], "severity": r["severity"],
              "uncertainty": r["uncertainty"], "improvement": r["improvement"]}
             for r in solutions if r["status"] == "improved"]
    sev = {c["case_id"]: (c["severity"], c["uncertainty"]) for c in head}
    items += [{"case_id": r["case_id"], "kind": "raw", "bytes": r["est_bytes"], "severity": sev[r["case_id"]][0],
               "uncertainty": sev[r["case_id"]][1], "improvement": routing.RAW_IMPROVEMENT} for r in raws]
    plan = [{"dt": day, "upload_rank": p.pop("rank"), **p} for p in routing.plan_uploads(items, cfg.budget_bytes)]
    return {"solutions": solutions, "upload_plan": plan, "raw_upload_requests": raws, "not_reached": not_reached}


def write_tables(con, day, tables: dict[str, list[dict]]) -> dict[str, int]:
    """Replace the day in each scorer table given (``run_nightly``'s four); every declared table exists afterwards,
    and one written before a column existed gains it; column descriptions become DuckDB comments."""
    day = parse_partition(day)
    con.execute("create schema if not exists scorer")
    for name, declared in TABLES.items():
        con.execute(ddl(name))
        have = {r[0] for r in con.execute("select column_name from information_schema.columns where "
                                          "table_schema = 'scorer' and table_name = ?", [name]).fetchall()}
        for col in declared:
            if col.name not in have:
                con.execute(f"alter table scorer.{name} add column {col.name} {col.duckdb_type}")
            con.execute(f"comment on column scorer.{name}.{col.name} is {_quoted(col.description)}")
    counts = {}
    for name, rows in tables.items():
        con.execute(f"delete from scorer.{name} where dt = ?", [day])
        counts[name] = insert_rows(con, f"scorer.{name}", columns(name), rows)
    return counts


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
