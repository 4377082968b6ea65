"""Benchmark the nightly scorer on a real case queue: ``run_nightly`` over the first N cases of a simulated
fleet-day's ``ads.ads_case_queue`` (scenes rebuilt from ODS, >= 1,000 candidates per case tracked by the LQR
tracker and scored, PDM-Closed's progress bar, robustness re-check, packages), at 1 and at 2 processes.

    python benchmarks/bench_nightly.py --cases 200                      # 12 vehicles x 12 h, built once in --workdir
    python benchmarks/bench_nightly.py --cases 200 --warehouse data/warehouse/fleetloop.duckdb   # a built warehouse

The fleet-day is simulated and loaded as ``bench_warehouse.py`` does, then ``dbt build`` up to the case queue
(kept in ``--workdir`` and reused). Figures per process count: wall seconds, CPU seconds (this process, which
loads the scenes, plus its reaped worker processes, which replay them: the stable figure on a shared machine, so
the load average is printed), CPU seconds per case, cases per CPU second (= per core), and the projection for
1,000 cases on 2 free cores (CPU / 2) and at the measured wall rate. The rows of 1 and 2 processes are compared:
they must be identical (wall times aside).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as run.py: one BLAS thread per process

import argparse
import resource
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import duckdb
from bench_warehouse import RUN_DAY, dbt, make_day

from fleetloop.scorer.nightly import NightlyConfig, run_nightly

PROJECTED_CASES = 1000
FREE_CORES = 2
VOLATILE = ("solve_seconds", "package_path")  # differ between runs by nature: wall time, the run's folder


def build(workdir: Path, vehicles: int, hours: float, seed: int) -> Path:
    """A warehouse with the day's case queue: simulated, loaded to ODS, ``dbt build`` up to ``ads_case_queue``."""
    path = workdir / "fleetloop.duckdb"
    if path.exists():
        print(f"  warehouse: reusing {path}", flush=True)
        return path
    ods = make_day(workdir, vehicles, hours, seed)
    shutil.copyfile(ods, path)
    dbt(["seed"], path, workdir / "target")
    seconds, _ = dbt(["build", "--select", "+ads_case_queue", "--indirect-selection", "cautious", "--exclude",
                      "resource_type:seed", *RUN_DAY], path, workdir / "target")
    print(f"  dbt build up to the case queue: {seconds:.0f} s", flush=True)
    return path


def _cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the worker processes, once their pool is shut)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(warehouse: Path, day, cases: int, processes: int, out: Path) -> dict:
    cfg = NightlyConfig(top_k=cases, seed=0, processes=processes)
    cpu0, own0, wall0 = _cpu_s(), time.process_time(), time.perf_counter()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = run_nightly(con, day, out / f"p{processes}", cfg)
    wall, cpu, own = time.perf_counter() - wall0, _cpu_s() - cpu0, time.process_time() - own0
    n = len(tables["solutions"])
    return {"processes": processes, "cases": n, "wall_s": wall, "cpu_s": cpu, "parent_cpu_s": own,
            "cpu_per_case_s": cpu / n, "cases_per_core_s": n / cpu, "tables": tables,
            "status": Counter(r["status"] for r in tables["solutions"]),
            "candidates": min(r["n_candidates"] or 0 for r in tables["solutions"] if r["status"] != "error"),
            "load": os.getloadavg()[0]}


def _stripped(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {name: [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows] for name, rows in tables.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200, help="the first N cases of the queue (by queue rank)")
    ap.add_argument("--warehouse", type=Path, help="a dbt-built warehouse (default: build one in --workdir)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "fleetloop_bench_nightly")
    ap.add_argument("--vehicles", type=int, default=12)
    ap.add_argument("--hours", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()

    warehouse = args.warehouse or build(args.workdir, args.vehicles, args.hours, args.seed)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        day, queued, replays = con.execute(
            "select dt, count(*), count(*) filter (where action = 'counterfactual' and not perception_suspect) "
            "from ads.ads_case_queue group by dt order by count(*) desc limit 1").fetchone()
    print(f"queue of {day}: {queued} cases, {replays} to replay; scoring the first {args.cases} "
          f"on {os.cpu_count()} cores")
    out = Path(tempfile.mkdtemp(prefix="bench_nightly_packages_"))
    try:
        runs = [measure(warehouse, day, args.cases, p, out) for p in args.processes]
    finally:
        shutil.rmtree(out)
    print(f"{'processes':>9s} {'cases':>6s} {'wall s':>8s} {'CPU s':>8s} {'parent CPU s':>12s} {'CPU s/case':>10s} "
          f"{'cases/s/core':>12s} {'load avg':>8s}  statuses (min candidates per case)")
    for r in runs:
        print(f"{r['processes']:9d} {r['cases']:6d} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['parent_cpu_s']:12.1f} "
              f"{r['cpu_per_case_s']:10.3f} {r['cases_per_core_s']:12.2f} {r['load']:8.1f}  "
              f"{dict(sorted(r['status'].items()))} ({r['candidates']})")
    same = all(_stripped(r["tables"]) == _stripped(runs[0]["tables"]) for r in runs[1:])
    print(f"rows identical across {', '.join(str(p) for p in args.processes)} processes: {same}")
    for r in runs:
        print(f"{PROJECTED_CASES:,} cases at {r['processes']} processes: "
              f"{r['cpu_per_case_s'] * PROJECTED_CASES / FREE_CORES / 60:.1f} min on {FREE_CORES} free cores "
              f"(CPU / {FREE_CORES}), {r['wall_s'] / r['cases'] * PROJECTED_CASES / 60:.1f} min at this run's wall "
              "rate (target <= 10 min)")
    if not same:
        raise SystemExit("the rows depend on the number of processes")


if __name__ == "__main__":
    main()
