"""``simulate(config)``: plan the fleet, simulate shard by shard (optionally in worker processes),
write the landing files and the ground truth under ``<landing>/_truth/``."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fleetloop.contract import SOURCES
from fleetloop.sim import faults, fixes, problems
from fleetloop.sim.clock import iso
from fleetloop.sim.config import SimConfig, SimResult
from fleetloop.sim.fleet import (
    BASE_RATES_PER_DRIVING_HOUR,
    JAM_WINDOW_S,
    SITE_JAMS_PER_SITE_HOUR,
    VERSION_FACTORS,
    FleetPlan,
    event_rates,
    plan_fleet,
    rng_for,
)
from fleetloop.sim.vehicle_day import simulate_vehicle_day
from fleetloop.sim.writer import ShardDayWriter, gzip_bytes

TRUTH_DIR = "_truth"
SCENE_SECONDS = "scene_seconds.parquet"
EVENT_SOURCES = ("takeover", "vehicle_call", "error_code", "asr_note", "incident")
POSE_FAULT_SHARE = 0.1  # pose rows get faults at a tenth of the JSON rate (duplicates, out of order)
FILE_FAULT_FACTOR = 10.0  # chance of each file-level fault per shard-day = fault_rate * this
EVENT_FAULT_FACTOR = 5.0  # event sources have few rows: corrupted copies at five times the rate
LATE_ROWS = 300
RESEND_ROWS = 200


@dataclass
class ShardResult:
    truth: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    distance: list[dict] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    scene_seconds: list[pa.Table] = field(default_factory=list)
    scenes: list[dict] = field(default_factory=list)


def simulate(config: SimConfig, progress: Callable[[int, int], None] | None = None) -> SimResult:
    """Simulate the fleet of ``config`` into ``config.landing``; deterministic in the config. ``progress(done,
    total)`` is called after each shard-day."""
    landing = Path(config.landing)
    landing.mkdir(parents=True, exist_ok=True)
    plan = plan_fleet(config)
    jobs = [(config, d, shard) for d in range(config.days) for shard in range(config.shards)]
    truth_dir = landing / TRUTH_DIR
    truth_dir.mkdir(parents=True, exist_ok=True)
    total = ShardResult()
    # fault labels grow with the data: streamed to the truth file shard by shard, never held whole
    parallel = config.workers > 1 and len(jobs) > 1
    pool = multiprocessing.get_context("spawn").Pool(config.workers) if parallel else contextlib.nullcontext()
    with _FaultSink(truth_dir / "faults.parquet") as sink, _TableSink(truth_dir / SCENE_SECONDS) as seconds, pool:
        for done, r in enumerate(pool.imap(_run_shard_job, jobs) if parallel else map(_run_shard_job, jobs), 1):
            _collect(total, r, sink)
            seconds.write(r.scene_seconds)
            if progress:
                progress(done, len(jobs))
    for k, v in _write_fleet_sources(plan).items():
        total.rows[k] = total.rows.get(k, 0) + v
    total.truth += _site_anomaly_truth(plan)
    _write_truth(plan, total, truth_dir)
    return SimResult(landing, truth_dir, config, config.day_list, _vehicles_json(plan), total.rows)


def _collect(total: ShardResult, r: ShardResult, sink: _FaultSink) -> None:
    total.truth += r.truth
    total.scenes += r.scenes
    total.incidents += r.incidents
    total.distance += r.distance
    sink.write(r.faults)
    for k, v in r.rows.items():
        total.rows[k] = total.rows.get(k, 0) + v


FAULT_COLUMNS = ["source", "dt", "file", "line_number", "fault_class", "expected_handling", "expected_reason_code"]
FAULT_SCHEMA = pa.schema([("source", pa.string()), ("dt", pa.date32()), ("file", pa.string()),
                          ("line_number", pa.int64()), ("fault_class", pa.string()),
                          ("expected_handling", pa.string()), ("expected_reason_code", pa.string())])


class _FaultSink:
    """``faults.parquet`` written one row group per shard-day, rows sorted by file and line."""

    def __init__(self, path: Path):
        self.writer = pq.ParquetWriter(path, FAULT_SCHEMA)

    def write(self, rows: list[dict]) -> None:
        rows = sorted(rows, key=lambda r: (r["source"], r["file"], r["line_number"]))
        self.writer.write_table(pa.table({c: [r[c] for r in rows] for c in FAULT_COLUMNS}, schema=FAULT_SCHEMA))

    def __enter__(self) -> _FaultSink:
        return self

    def __exit__(self, *exc) -> None:
        self.writer.close()


class _TableSink:
    """A truth table streamed one row group per shard-day (every part has the same schema)."""

    def __init__(self, path: Path):
        self.path, self.writer = path, None

    def write(self, tables: list[pa.Table]) -> None:
        for table in tables:
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.path, table.schema)
            self.writer.write_table(table)

    def __enter__(self) -> _TableSink:
        return self

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()


def _run_shard_job(job: tuple) -> ShardResult:
    config, day_index, shard = job
    return run_shard(plan_fleet(config), day_index, shard)


def run_shard(plan: FleetPlan, day_index: int, shard: int) -> ShardResult:
    """Simulate and write the vehicles of one shard for one day, vehicle by vehicle."""
    config = plan.config
    day = config.day_list[day_index]
    per = config.vehicles_per_shard
    vehicles = plan.vehicles[shard * per:(shard + 1) * per]
    rng = rng_for(config.seed, 4, day_index, shard)
    file_p = min(1.0, config.fault_rate * FILE_FAULT_FACTOR) if config.fault_rate > 0 else 0.0
    first = config.fault_rate > 0 and day_index == 0 and shard == 0
    late = config.fault_rate > 0 and day_index + 1 < config.days and (first or rng.random() < file_p)
    resend = first or rng.random() < file_p
    empty = first or rng.random() < file_p
    writer = ShardDayWriter(config.landing, day, shard)
    result = ShardResult()
    records: dict[str, list[dict]] = {source: [] for source in EVENT_SOURCES}
    try:
        for n, vehicle in enumerate(vehicles):
            out = simulate_vehicle_day(plan, vehicle, day_index)
            vrng = rng_for(config.seed, 5, vehicle.index, day_index)
            hb_entries = faults.inject(_json_lines(out.heartbeat), SOURCES["heartbeat"], config.fault_rate, vrng,
                                       in_place=True, protected=out.heartbeat_protected)
            if n == 0 and late:
                late_part, hb_entries = hb_entries.split(LATE_ROWS)
                writer.write_file("heartbeat", f"late-{shard:03d}-{day + dt.timedelta(days=1):%Y%m%d}.jsonl",
                                  late_part, faults.Label("late_file"))
            if n == 0 and resend:
                clean = [text for i, text in enumerate(hb_entries.lines[:RESEND_ROWS]) if i not in hb_entries.labels]
                data = gzip_bytes(("\n".join(clean) + "\n").encode("utf-8"))
                writer.write_raw("heartbeat", f"resend-{shard:03d}.jsonl.gz", data[: int(len(data) * 0.6)],
                                 faults.Label("truncated_gzip"))
            writer.write_json("heartbeat", hb_entries)
            for source in EVENT_SOURCES:  # each vehicle's records in time order (a delayed row is out of it)
                records[source] += sorted(out.records[source], key=lambda r, ts=SOURCES[source].partition_ts: r[ts])
            order, labels = faults.parquet_faults(out.pose.num_rows, config.fault_rate * POSE_FAULT_SHARE, vrng)
            writer.write_parquet("pose", out.pose.take(pa.array(order)), labels)
            writer.write_parquet("planner_debug", out.planner)
            writer.write_parquet("perception_objects", out.perception)
            for source, columns in (("perception_summary", out.perception_summary),
                                    ("environment", out.environment)):
                writer.write_json(source, faults.Lines(_json_lines(columns), {}))
            result.scene_seconds.append(out.scene_seconds)
            result.scenes += out.scenes
            result.truth += out.truth
            result.incidents += out.incidents
            result.distance += out.distance
        event_rate = min(0.2, config.fault_rate * EVENT_FAULT_FACTOR)
        for source in EVENT_SOURCES:
            lines = [json.dumps(r, ensure_ascii=False) for r in records[source]]
            writer.write_json(source, faults.inject(lines, SOURCES[source], event_rate, rng, in_place=False))
        if empty:
            source = EVENT_SOURCES[int(rng.integers(len(EVENT_SOURCES)))]
            writer.write_raw(source, f"empty-{shard:03d}.jsonl", b"", faults.Label("empty_file"))
    finally:
        writer.close()
    result.faults, result.rows = writer.faults, writer.rows
    return result


def _json_lines(columns: dict) -> list[str]:
    """JSON lines of a 1 Hz source from its columns (NaN and None as null)."""
    frame = pd.DataFrame(columns)
    text = frame.to_json(orient="records", lines=True, force_ascii=False, double_precision=10)
    return [line for line in text.split("\n") if line]


def _write_fleet_sources(plan: FleetPlan) -> dict[str, int]:
    """Daily registry snapshots and software deployment records (clean, one file per day)."""
    rows = {}
    deployments = plan.deployments()
    for day in plan.config.day_list:
        writer = ShardDayWriter(plan.config.landing, day, 0)
        midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
        stamp = iso(int(midnight.timestamp() * 1000))
        registry = [json.dumps({"ts": stamp, "vehicle_id": v.vehicle_id, "vehicle_class": v.vehicle_class,
                                "city": v.city, "site_id": v.site_id}) for v in plan.vehicles]
        writer.write_json("vehicle_registry", faults.Lines(registry, {}))
        deploy = [json.dumps({"ts": iso(int(r["ts"].timestamp() * 1000)), "vehicle_id": r["vehicle_id"],
                              "version": r["version"], "deployed_at": iso(int(r["deployed_at"].timestamp() * 1000))})
                  for r in deployments if r["ts"].date() == day]
        writer.write_json("software_deployment", faults.Lines(deploy, {}))
        writer.close()
        for k, v in writer.rows.items():
            rows[k] = rows.get(k, 0) + v
    return rows


def _site_anomaly_truth(plan: FleetPlan) -> list[dict]:
    out = []
    for (site_id, day), jams in sorted(plan.jams.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        day_ms = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp() * 1000)
        for jam in jams:
            w0 = jam.window_start_s
            out.append({
                "truth_id": f"site_anomaly-{site_id}-{day:%Y%m%d}-{w0:05d}", "trigger": "site_anomaly",
                "vehicle_id": None, "site_id": site_id, "ts_start": day_ms + w0 * 1000,
                "ts_end": day_ms + (w0 + JAM_WINDOW_S) * 1000, "tier": None, "cause": "site_jam",
                "vehicle_class": None, "version": None,
                "attributes": json.dumps({"vehicles": list(jam.vehicle_ids),
                                          "window_s": JAM_WINDOW_S}, sort_keys=True),
            } | fixes.label("site_anomaly", "site_anomaly"))
    return out


def _ts(values) -> pa.Array:
    return pa.array(values, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))


def _write_truth(plan: FleetPlan, total: ShardResult, truth_dir: Path) -> None:
    """events (with their fix labels, ``fixes.LABEL_COLUMNS``), incidents, distance, injected scenes and
    fleet.json (faults.parquet and scene_seconds.parquet are streamed shard by shard)."""
    events = sorted(total.truth, key=lambda r: (r["ts_start"], r["truth_id"]))
    columns = ["truth_id", "trigger", "vehicle_id", "site_id", "ts_start", "ts_end", "tier", "cause",
               "attributes", "vehicle_class", "version", *fixes.LABEL_COLUMNS]
    table = pa.table({c: (_ts([r[c] for r in events]) if c.startswith("ts_") else
                          pa.array([r[c] for r in events], pa.string())) for c in columns})
    table = table.append_column("dt", pa.array([dt.datetime.fromtimestamp(r["ts_start"] / 1000, dt.UTC).date()
                                                for r in events], pa.date32()))
    pq.write_table(table, truth_dir / "events.parquet")
    inc = sorted(total.incidents, key=lambda r: (r["ts"], r["incident_id"]))
    pq.write_table(pa.table({
        "incident_id": pa.array([r["incident_id"] for r in inc], pa.string()),
        "ts": _ts([r["ts"] for r in inc]),
        **{c: pa.array([r[c] for r in inc], pa.bool_() if c in ("injury", "police_report") else pa.string())
           for c in ("vehicle_id", "site_id", "category", "at_fault", "injury", "police_report", "version",
                     "related_truth_id")},
    }), truth_dir / "incidents.parquet")
    dist = pd.DataFrame(total.distance, columns=["vehicle_id", "dt", "drive_mode", "road_type", "site_id",
                                                 "route_id", "version", "distance_m", "duration_s"])
    dist = dist.sort_values(["dt", "vehicle_id", "drive_mode", "road_type"], kind="stable").reset_index(drop=True)
    pq.write_table(pa.Table.from_pandas(dist, preserve_index=False), truth_dir / "distance.parquet")
    scenes = sorted(total.scenes, key=lambda r: (r["vehicle_id"], r["ts_start"], r["kind"]))
    pq.write_table(pa.table({
        "vehicle_id": pa.array([r["vehicle_id"] for r in scenes], pa.string()),
        "site_id": pa.array([r["site_id"] for r in scenes], pa.string()),
        "kind": pa.array([r["kind"] for r in scenes], pa.string()),
        "ts_start": _ts([r["ts_start"] for r in scenes]), "ts_end": _ts([r["ts_end"] for r in scenes]),
        "object_class": pa.array([r["object_class"] for r in scenes], pa.string()),
    }), truth_dir / "scenes.parquet")
    _write_problem_truth(events, truth_dir)
    (truth_dir / "fleet.json").write_text(json.dumps(_fleet_json(plan), indent=1, ensure_ascii=False) + "\n",
                                          encoding="utf-8")


EPISODE_STRINGS = ("episode_id", "family", "vehicle_id", "site_id", "software_version")


def _write_problem_truth(events: list[dict], truth_dir: Path) -> None:
    """problem_episodes (one row per injected member, with the truth event it made) and problem_families."""
    episodes = [r["episode"] for r in events if "episode" in r]
    us = pa.timestamp("us", tz="UTC")
    pq.write_table(pa.table({
        **{c: pa.array([e[c] for e in episodes], pa.string()) for c in EPISODE_STRINGS},
        **{c: _ts([e[c] for e in episodes]).cast(us) for c in ("ts_start", "ts_end")},
        **{c: pa.array([e[c] for e in episodes], pa.string()) for c in ("expected_trigger", "truth_id")},
    }), truth_dir / "problem_episodes.parquet")
    fams = problems.FAMILIES
    pq.write_table(pa.table({
        "family": pa.array([f.name for f in fams], pa.string()),
        "description": pa.array([f.description for f in fams], pa.string()),
        "expected_trigger": pa.array([f.expected_trigger for f in fams], pa.string()),
        "defining_tags": pa.array([list(f.defining_tags) for f in fams], pa.list_(pa.string())),
        "severity": pa.array([f.severity for f in fams], pa.int32()),
        "versions": pa.array([f.version_list() for f in fams], pa.list_(pa.string())),
    }), truth_dir / "problem_families.parquet")


def _vehicles_json(plan: FleetPlan) -> list[dict]:
    return [{"vehicle_id": v.vehicle_id, "vehicle_class": v.vehicle_class, "city": v.city, "site_id": v.site_id,
             "route_id": v.route_id, "op_start_s": v.op_start_s, "op_end_s": plan.op_end_s(v),
             "rollout": v.rollout} for v in plan.vehicles]


def _fleet_json(plan: FleetPlan) -> dict:
    scale = plan.config.event_rate_scale
    return {
        "config": plan.config.as_json(),
        "vehicles": _vehicles_json(plan),
        "rollout_day": plan.rollout_day.isoformat(),
        "deployments": [{"vehicle_id": r["vehicle_id"], "version": r["version"],
                         "deployed_at": r["deployed_at"].isoformat()} for r in plan.deployments()],
        "event_rates_per_driving_hour": {v: event_rates(v, scale) for v in VERSION_FACTORS},
        "base_rates_per_driving_hour": BASE_RATES_PER_DRIVING_HOUR,
        "version_factors": VERSION_FACTORS,
        "site_jams_per_site_hour": SITE_JAMS_PER_SITE_HOUR * scale,
        "site_jams": [{"site_id": s, "dt": d.isoformat(), "window_start_s": j.window_start_s,
                       "vehicle_ids": list(j.vehicle_ids)}
                      for (s, d), jams in sorted(plan.jams.items(), key=lambda kv: (kv[0][1], kv[0][0]))
                      for j in jams],
    }
