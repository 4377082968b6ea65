"""The same fleet-day on DuckDB and on local Spark through the real Dagster job, side by side: wall and CPU seconds
per stage and per dbt layer, and local Spark's scaling with its cores.

    python benchmarks/bench_engines.py --vehicles 4 --hours 2 [--spark-cores 1,2] [--dir /tmp/fleetloop_bench_engines]
    python benchmarks/bench_engines.py --reuse /tmp/fleetloop_bench_engines    # the same landing again

Simulates one day (as ``bench_fleet_day.py`` does) unless ``--reuse``, then runs the daily job once on DuckDB and
once per Spark core count (``local[N]``; ``FLEETLOOP_DUCKDB_THREADS`` sets N), each on a fresh warehouse, lake and
Spark metastore over the same landing. Stages are Dagster's steps (``bench_fleet_day.StageMeter``: CPU of the
process tree, the JVMs of dbt and of the scorer included); the dbt layers are the node seconds of dbt's
``run_results.json`` per layer (``ref`` seeds, ``dwd``, ``dws``, ``ads``; data tests apart), and on Spark the copy of
its tables into the working DuckDB file is the rest of each dbt stage. The published ADS and DWS tables of every
run are fingerprinted: the engines must publish the same numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psutil
from bench_fleet_day import DAY, TreeRss, fingerprint, fresh_home, make_landing, run_day

from fleetloop.settings import Settings

LAYERS = ("ref", "dwd", "dws", "ads")


def layer_of(unique_id: str) -> str:
    """A dbt node's layer: seeds are ``ref``, models by name prefix, every test ``tests``."""
    kind, _, name = unique_id.split(".", 2)
    if kind == "seed":
        return "ref"
    if kind == "model":
        return name.split("_", 1)[0]
    return "tests"


def layer_seconds(dbt_results: dict[str, dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    for run in dbt_results.values():
        for node in run["results"]:
            layer = layer_of(node["unique_id"])
            out[layer] = out.get(layer, 0.0) + node["execution_time"]
    return out


def run_engine(home: Path, engine: str, cores: int) -> dict:
    fresh_home(home)  # the landing stays; warehouse, lake, metastore and instance go
    settings = Settings.for_home(home, start_date=DAY, engine=engine, threads=cores)
    print(f"\n== {engine} on {cores} core(s) ==", flush=True)
    with TreeRss() as rss:
        meter, wall, cpu, published = run_day(settings, rss)
    if not published:
        raise SystemExit(f"{engine}: the day was not published (see the lines above)")
    return {"stages": meter.stages, "layers": layer_seconds(meter.dbt_results), "wall": wall, "cpu": cpu,
            "rss": rss.overall, "fingerprint": fingerprint(settings.published)}


def print_side_by_side(runs: dict[str, dict]) -> None:
    names = list(runs)
    print(f"\n{'stage':<16}" + "".join(f"{n + ' wall/CPU s':>26}" for n in names))
    stages = [s for s in runs[names[0]]["stages"] if all(s in r["stages"] for r in runs.values())]
    for stage in stages:
        print(f"{stage:<16}" + "".join(f"{r['stages'][stage].wall_s:>15.1f} / {r['stages'][stage].cpu_s:>7.1f}"
                                       for r in runs.values()))
    print(f"{'pipeline':<16}" + "".join(f"{r['wall']:>15.1f} / {r['cpu']:>7.1f}" for r in runs.values()))
    print(f"{'peak RSS GB':<16}" + "".join(f"{r['rss'] / 2**30:>25.2f}" for r in runs.values()))
    print(f"\n{'dbt node s':<16}" + "".join(f"{n:>26}" for n in names))
    for layer in (*LAYERS, "tests"):
        print(f"{layer:<16}" + "".join(f"{r['layers'].get(layer, 0.0):>26.1f}" for r in runs.values()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=4)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spark-cores", default="1,2", help="local Spark core counts to run, comma-separated")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fleetloop_bench_engines"))
    ap.add_argument("--reuse", type=Path, default=None, help="a home whose landing holds the simulated day")
    args = ap.parse_args(argv)
    home = (args.reuse or args.dir).resolve()
    if args.reuse is None:
        make_landing(home, args.vehicles, args.hours, args.seed)
    cores = [int(c) for c in args.spark_cores.split(",") if c]
    machine = psutil.cpu_count()
    load0 = psutil.getloadavg()[0]
    runs = {f"duckdb[{machine}]": run_engine(home, "duckdb", machine)}
    runs |= {f"spark[{c}]": run_engine(home, "spark", c) for c in cores}
    print(f"\nfleet-day {DAY}: {home}; {machine} cores; load average {load0:.1f} -> {psutil.getloadavg()[0]:.1f}")
    print_side_by_side(runs)
    duckdb_run = runs[f"duckdb[{machine}]"]
    prints = {r["fingerprint"] for r in runs.values()}
    print(f"\npublished numbers: {'the same on every engine' if len(prints) == 1 else 'DIFFER'} "
          f"(fingerprints {', '.join(sorted(p[1] for p in prints))})")
    for name, run in runs.items():
        if name.startswith("spark"):
            print(f"{name} / duckdb: {run['wall'] / duckdb_run['wall']:.1f}x wall, "
                  f"{run['cpu'] / duckdb_run['cpu']:.1f}x CPU")
    if len(cores) > 1:
        lo, hi = runs[f"spark[{min(cores)}]"], runs[f"spark[{max(cores)}]"]
        print(f"spark[{max(cores)}] vs spark[{min(cores)}]: {lo['wall'] / hi['wall']:.2f}x faster wall")
    return 0 if len(prints) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
