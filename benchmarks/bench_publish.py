"""Publication cost: COPY FROM DATABASE vs checkpoint + file copy on a synthetic warehouse.

    python benchmarks/bench_publish.py [--rows 20000000] [--dir /tmp/fleetloop_bench_publish]
Prints seconds and bytes per method.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb

from fleetloop.publish import METHODS, publish


def build(working: Path, rows: int) -> None:
    con = duckdb.connect(str(working))
    con.execute("create schema if not exists ods")
    con.execute(
        "create or replace table ods.ods_pose as select range as i, range * 0.1 as x_m, "
        "'veh_' || (range % 500) as vehicle_id, now() as ts from range(?)",
        [rows],
    )
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fleetloop_bench_publish"))
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    working = args.dir / "warehouse.duckdb"
    build(working, args.rows)
    print(f"working file: {working.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows")
    for method in METHODS:
        pub = publish(working, args.dir / "published" / f"{method}.duckdb", method=method)
        print(f"{method:14s} {pub.seconds:7.2f} s  {pub.bytes / 1e6:8.1f} MB  ({args.rows / pub.seconds / 1e6:.1f} M rows/s)")
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
