"""Time the Python reference triggers on an N-vehicle day of an ODS DuckDB file and print rows/s.

    python benchmarks/bench_triggers_reference.py --warehouse data/warehouse.duckdb --day 2026-11-02
    python benchmarks/bench_triggers_reference.py --vehicles 50      # simulates and loads the day first

Prints one line per figure (key=value) so the warehouse engineer's benchmark can compare dbt with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from fleetloop.contract import SOURCES
from fleetloop.triggers.reference import detect_events

SCANNED = ("ods_pose", "ods_planner_debug", "ods_heartbeat", "ods_error_code", "ods_takeover", "ods_vehicle_call",
           "ods_asr_note")


def build_ods(vehicles: int, day: dt.date, workdir: Path, hours: float) -> Path:
    """Simulate one fleet-day, load it into a lake and return a fresh DuckDB file whose ODS views read it."""
    from fleetloop.ingest import connect, load_partition
    from fleetloop.lake import attach_ods
    from fleetloop.sim import SimConfig, simulate

    landing = workdir / "landing"
    simulate(SimConfig(vehicles=vehicles, days=1, start=day, seed=7, landing=landing, hours_per_day=hours, workers=2))
    path = workdir / "fleetloop.duckdb"  # not ods.duckdb: the catalog name would clash with schema ods
    for source in SOURCES:
        load_partition(workdir / "lake", landing, source, day)
    con = connect(path)
    try:
        attach_ods(con, workdir / "lake")
    finally:
        con.close()
    return path


def measure(path: Path, day: dt.date) -> dict[str, float]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = sum(con.execute(f"select count(*) from ods.{t} where dt = ?", [day]).fetchall()[0][0] for t in SCANNED)
        vehicles = con.execute("select count(distinct vehicle_id) from ods.ods_heartbeat where dt = ?",
                               [day]).fetchall()[0][0]
        start = time.perf_counter()
        events = detect_events(con, day)
        wall = time.perf_counter() - start
    return {"vehicles": vehicles, "rows": rows, "events": len(events), "wall_s": round(wall, 2),
            "rows_per_s": round(rows / wall),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, help="ODS DuckDB file (default: simulate one)")
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2026, 11, 2))
    parser.add_argument("--vehicles", type=int, default=50, help="fleet size when simulating")
    parser.add_argument("--hours", type=float, default=12.0, help="operating hours when simulating")
    parser.add_argument("--keep", type=Path, help="keep the simulated ODS file here (reuse with --warehouse)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_triggers_") as tmp:
        path = args.warehouse or build_ods(args.vehicles, args.day, args.keep or Path(tmp), args.hours)
        figures = measure(path, args.day)
    print(f"reference triggers, day {args.day}:")
    for key, value in figures.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
