"""Publication cost: the analysts' file built table by table from a synthetic warehouse.

    python benchmarks/bench_publish.py [--rows 20000000] [--dir /tmp/fleetloop_bench_publish]
Prints seconds and bytes.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb

from fleetloop.publish import publish
from fleetloop.settings import Settings


def build(working: Path, rows: int) -> None:
    con = duckdb.connect(str(working))
    con.execute("create schema if not exists dwd")
    con.execute(
        "create or replace table dwd.dwd_pose_sample as select range as i, range * 0.1 as x_m, "
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
    settings = Settings.for_home(args.dir)
    settings.warehouse.parent.mkdir(parents=True)
    build(settings.warehouse, args.rows)
    print(f"working file: {settings.warehouse.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows")
    pub = publish(settings, "bench")
    rate = args.rows / pub.seconds / 1e6
    print(f"built and swapped in {pub.seconds:.2f} s, {pub.bytes / 1e6:.1f} MB ({rate:.1f} M rows/s)")
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
