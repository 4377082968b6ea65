"""Benchmark the warehouse: `dbt build` of DWD..ADS for one simulated fleet-day, wall time and peak RSS; and,
on a smaller day, the warehouse's event detection against the Python reference triggers, as a ratio.

    python benchmarks/bench_warehouse.py                                  # 20 vehicles x 12 h, no reference
    python benchmarks/bench_warehouse.py --vehicles 500 --reference-vehicles 50   # the issue's targets

The fleet-day is made with fleetloop.sim and loaded with fleetloop.ingest (not timed as part of the build).
Targets (issue 3): 500 vehicles x 12 h in <= 5 min with peak RSS <= 12 GB on 2 cores; the warehouse at least
2x faster than the reference on the 50-vehicle day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import psutil

from fleetloop.contract import SOURCES
from fleetloop.ingest import connect, load_partition
from fleetloop.lake import attach_ods
from fleetloop.settings import Settings
from fleetloop.sim import SimConfig, simulate
from fleetloop.warehouse import write_dbt_profile

PROJECT_DIR = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 11, 2)
# the run day as dbt's event-time window (macros/run_period.sql)
RUN_DAY = ["--event-time-start", DAY.isoformat(), "--event-time-end", (DAY + dt.timedelta(days=1)).isoformat()]


def make_day(workdir: Path, vehicles: int, hours: float, seed: int) -> Path:
    """Simulate one fleet-day and load it into an ODS DuckDB file; return the file (kept in --workdir and
    reused by a later run with the same workdir)."""
    landing = workdir / "landing"
    path = workdir / "ods" / "fleetloop.duckdb"
    if path.exists():
        print(f"  fleet-day: reusing {path}", flush=True)
        return path
    t0 = time.perf_counter()
    simulate(SimConfig(vehicles=vehicles, days=1, start=DAY, seed=seed, landing=landing, hours_per_day=hours,
                       workers=os.cpu_count() or 2))
    t1 = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        load_partition(path.parent / "lake", landing, source, DAY)
    con = connect(path)
    try:
        attach_ods(con, path.parent / "lake")
        pose_rows = con.execute("select count(*) from ods.ods_pose").fetchone()[0]
    finally:
        con.close()
    print(f"  fleet-day: {vehicles} vehicles x {hours:g} h, {pose_rows:,} pose rows "
          f"(simulated in {t1 - t0:.0f} s, loaded in {time.perf_counter() - t1:.0f} s)", flush=True)
    return path


class PeakRss:
    """Peak resident memory of a process tree, sampled every 0.1 s."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            self._stop.wait(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def dbt(args: list[str], warehouse: Path, target: Path) -> tuple[float, int]:
    """Run dbt against `warehouse`; return wall seconds and peak RSS in bytes."""
    settings = Settings.for_home(warehouse.parent, warehouse=warehouse)
    env = settings.subprocess_env() | {"DBT_LOG_PATH": str(target / "logs")}
    cmd = [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(PROJECT_DIR),
           "--profiles-dir", str(write_dbt_profile(settings, target / "profile")), "--target-path", str(target),
           "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rss = PeakRss(proc.pid)
    out, _ = proc.communicate()
    seconds, peak = time.perf_counter() - t0, rss.stop()
    if proc.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{out[-5000:]}")
    return seconds, peak


def warehouse_build(ods: Path, workdir: Path) -> dict:
    """Seeds once (not timed), then `dbt build` (models, unit and data tests) of the day, timed."""
    path = workdir / "fleetloop.duckdb"
    shutil.copyfile(ods, path)
    dbt(["seed"], path, workdir / "target")
    seconds, peak = dbt(["build", "--exclude", "resource_type:seed", *RUN_DAY], path, workdir / "target")
    with duckdb.connect(str(path), read_only=True) as con:
        events = con.execute("select count(*) from dwd.dwd_event").fetchone()[0]
        cases = con.execute("select count(*) from ads.ads_case_queue").fetchone()[0]
    return {"seconds": seconds, "peak_rss_gb": peak / 1e9, "events": events, "cases": cases, "path": path}


def events_only(ods: Path, workdir: Path) -> tuple[float, float]:
    """`dbt run` up to dwd_event (the models the reference's work corresponds to): wall seconds of the dbt
    process, and seconds spent in the models themselves (from run_results.json, without dbt's start-up)."""
    path = workdir / "events.duckdb"
    shutil.copyfile(ods, path)
    target = workdir / "target_events"
    dbt(["seed"], path, target)
    seconds, _ = dbt(["run", "--select", "+dwd_event", *RUN_DAY], path, target)
    results = json.loads((target / "run_results.json").read_text())
    return seconds, results["elapsed_time"]


def reference_seconds(ods: Path) -> tuple[float, int]:
    """Seconds of the Python reference triggers over the same ODS day, and the events it found."""
    from fleetloop.triggers.reference import detect_events

    with duckdb.connect(str(ods), read_only=True) as con:
        t0 = time.perf_counter()
        events = detect_events(con, DAY)
        return time.perf_counter() - t0, len(events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20, help="vehicles of the timed fleet-day (issue: 500)")
    parser.add_argument("--hours", type=float, default=12.0, help="operating hours of the day")
    parser.add_argument("--reference-vehicles", type=int, default=0,
                        help="vehicles of the day compared with the Python reference (issue: 50; 0 = skip)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files here (default: a temp dir)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_warehouse_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        print(f"warehouse build: {args.vehicles} vehicles x {args.hours:g} h", flush=True)
        ods = make_day(workdir / "fleet", args.vehicles, args.hours, args.seed)
        build = warehouse_build(ods, workdir / "fleet")
        print(f"  dbt build DWD..ADS (with tests): {build['seconds']:.1f} s wall, "
              f"peak RSS {build['peak_rss_gb']:.2f} GB, {build['events']:,} events, {build['cases']:,} cases",
              flush=True)
        if args.reference_vehicles:
            print(f"warehouse vs reference: {args.reference_vehicles} vehicles x {args.hours:g} h", flush=True)
            ref_ods = ods if args.reference_vehicles == args.vehicles else make_day(
                workdir / "reference", args.reference_vehicles, args.hours, args.seed)
            ref_dir = ref_ods.parent.parent
            wall_s, models_s = events_only(ref_ods, ref_dir)
            ref_s, ref_events = reference_seconds(ref_ods)
            print(f"  dbt run ODS -> dwd_event: {wall_s:.1f} s wall ({models_s:.1f} s in the models); "
                  f"Python reference: {ref_s:.1f} s ({ref_events:,} events)", flush=True)
            print(f"  reference / warehouse = {ref_s / wall_s:.2f}x (dbt wall), {ref_s / models_s:.2f}x (models)",
                  flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
