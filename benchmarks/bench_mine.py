"""Mining speed: a 3-tag conjunction with clip merging on a synthetic tag store (run layout), against the same query
on the per-second bitmap and on a long table (one row per second and tag).

    python benchmarks/bench_mine.py [--vehicles 500] [--hours 12] [--days 30] [--slice-vehicles 5]
                                    [--query 'rain and night and junction'] [--dir /tmp/fleetloop_bench_mine]

The store has the seed's tags (``seeds/tag_definitions.csv``), generated in DuckDB from ``range()`` and hashing,
run by run: per vehicle and day two drives (the route changes at mid-shift), cut into spans of ``SPAN_BLOCK_S``;
light by hour of the shift (night the last 2 h), weather per site and hour (rain 15%, fog 3%, snow 2%), and every
other tag in runs of its family's length (``FAMILY_RUNS``: junctions within 40 s slots, agents 20 s, manoeuvres
30 s, ...). The bitmap and the long table are built from the runs of the first ``--slice-vehicles`` vehicles (the
three layouts must give the same clips there) and the long table's time is scaled by rows. Prints wall seconds
(median of 3), bytes per vehicle-second and the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

from fleetloop.mining.clips import DEFAULT_PADDING, clips_sql
from fleetloop.mining.engine import compile_query, conjunction, mine
from fleetloop.mining.features import FILTER_COLUMNS
from fleetloop.mining.language import parse
from fleetloop.mining.store import SPAN_BLOCK_S, TagStore, create_run_tables, read_tag_map, ubigint, write_tag_map
from fleetloop.mining.tags import WORD_BITS, load_tags, word_column, word_count
from fleetloop.warehouse import connect

DAY0_S = 1_788_220_800  # 2026-09-01 00:00 UTC
SHIFT_START_S = 8 * 3600
HOUR_S = 3600
DRIVES_PER_SHIFT = 2  # the route changes at mid-shift
SITES = ("bj_yizhuang", "su_logistics", "sz_nanshan", "gz_nansha_port", "sh_lingang", "wh_econ_zone")
ROUTES_PER_SITE = 3
NIGHT_HOURS, DUSK_HOURS = 2, 2  # the last hours of the shift
WEATHER_PCT = {"rain": 15, "fog": 3, "snow": 2}  # of the hours of a site; the rest clear
HOURLY_TAGS = ("day", "dusk", "night", "clear", *WEATHER_PCT)
# per family: slot length (s) and the percentage of slots holding one run of 1 s to the slot's length
FAMILY_RUNS = {"time_light": (3600, 20), "weather": (3600, 20), "road_map": (40, 12), "ego": (30, 20),
               "agents": (20, 10), "perception": (10, 3), "operations": (600, 5), "trigger": (60, 1)}
SLOT_STRIDE = 7919  # a prime: slots k * stride + offset (mod slots) are distinct
REPEATS = 3


def _spans(con, vehicles: int, hours: int, days: int, store: TagStore) -> None:
    """Spans of ``SPAN_BLOCK_S``; the route changes at mid-shift."""
    blocks = hours * HOUR_S // SPAN_BLOCK_S
    sites = "['" + "', '".join(SITES) + "']"
    con.execute(f"""
        insert into {store.span_table}
        select (v * {days} + d) * {blocks} + k + 1, v + 1, 'veh_' || lpad(v::VARCHAR, 4, '0'),
               {sites}[v % {len(SITES)} + 1],
               {sites}[v % {len(SITES)} + 1] || '-r' ||
                 ((v // {len(SITES)} + k // {blocks // DRIVES_PER_SHIFT}) % {ROUTES_PER_SITE} + 1),
               case when hash(v) % 2 = 0 then 'v3.2.0' else 'v3.3.0' end,
               ['campus_robot', 'urban_delivery', 'highway_truck'][v // {len(SITES)} % 3 + 1],
               {DAY0_S} + d * 86400 + {SHIFT_START_S} + k * {SPAN_BLOCK_S},
               {DAY0_S} + d * 86400 + {SHIFT_START_S} + (k + 1) * {SPAN_BLOCK_S} - 1
        from range({vehicles}) a(v), range({days}) b(d), range({blocks}) c(k) order by 1""")


def _insert_split(con, generated: str, days: int, hours: int, store: TagStore) -> None:
    """Insert runs (tag_id, v, d, start_s, end_s) of ``generated``, split at the span blocks."""
    blocks = hours * HOUR_S // SPAN_BLOCK_S
    shift0 = f"({DAY0_S} + d * 86400 + {SHIFT_START_S})"
    con.execute(f"""
        insert into {store.run_table}
        select tag_id, (v * {days} + d) * {blocks} + b + 1, greatest(start_s, {shift0} + b * {SPAN_BLOCK_S}),
               least(end_s, {shift0} + (b + 1) * {SPAN_BLOCK_S} - 1)
        from (select *, unnest(range((start_s - {shift0}) // {SPAN_BLOCK_S},
                                     (end_s - {shift0}) // {SPAN_BLOCK_S} + 1)) as b
              from ({generated}))""")


def _drives(vehicles: int, hours: int, days: int) -> str:
    """The drives (halves of a shift): v, d, site, start_s."""
    drive_s = hours * HOUR_S // DRIVES_PER_SHIFT
    return (f"select v, d, v % {len(SITES)} as site, {DAY0_S} + d * 86400 + {SHIFT_START_S} + h * {drive_s} "
            f"as start_s from range({vehicles}) a(v), range({days}) b(d), range({DRIVES_PER_SHIFT}) c(h)")


def _hourly_runs(con, tags: dict, vehicles: int, hours: int, days: int, store: TagStore) -> None:
    """Light by hour of the shift, weather by site and hour: one run per drive and hour."""
    hour = f"((s.start_s - {DAY0_S} - {SHIFT_START_S}) % 86400 // {HOUR_S} + k)"
    weather = f"hash(s.site, s.d, {hour}) % 100"
    bounds, weather_case = 0, []
    for name, pct in WEATHER_PCT.items():
        weather_case.append(f"when {weather} < {bounds + pct} then {tags[name].tag_id}")
        bounds += pct
    light = (f"case when {hour} >= {hours - NIGHT_HOURS} then {tags['night'].tag_id} "
             f"when {hour} >= {hours - NIGHT_HOURS - DUSK_HOURS} then {tags['dusk'].tag_id} "
             f"else {tags['day'].tag_id} end")
    for tag_id in (light, f"case {' '.join(weather_case)} else {tags['clear'].tag_id} end"):
        _insert_split(con, f"select {tag_id} as tag_id, v, d, s.start_s + k * {HOUR_S} as start_s, "
                      f"s.start_s + (k + 1) * {HOUR_S} - 1 as end_s from ({_drives(vehicles, hours, days)}) s, "
                      f"range({hours // DRIVES_PER_SHIFT}) r(k)", days, hours, store)


def _family_runs(con, tag, vehicles: int, hours: int, days: int, store: TagStore) -> None:
    """A fixed number of runs per drive, in distinct pseudo-random slots of the family's length."""
    slot_s, pct = FAMILY_RUNS[tag.family]
    slots = hours * HOUR_S // DRIVES_PER_SHIFT // slot_s
    n = max(1, slots * pct // 100)
    seed = f"hash(s.v, s.d, s.start_s, {tag.tag_id}, k"
    start = f"s.start_s + ((k * {SLOT_STRIDE} + hash(s.v, s.d, s.start_s, {tag.tag_id})) % {slots}) * {slot_s}"
    _insert_split(con, f"""
        select {tag.tag_id} as tag_id, v, d, start_s, (start_s + {seed}, 2) % ({slot_s} - o))::BIGINT as end_s
        from (select s.v, s.d, k, ({start} + {seed}, 1) % {slot_s})::BIGINT as start_s, {seed}, 1) % {slot_s} as o
              from ({_drives(vehicles, hours, days)}) s, range({n}) r(k)) s""", days, hours, store)


def generate(con, vehicles: int, hours: int, days: int, store: TagStore) -> int:
    """Write the synthetic run layout (tag map, spans, runs); return the vehicle-seconds it covers."""
    tags = {t.name: t for t in load_tags()}
    write_tag_map(con, tuple(tags.values()), store)
    create_run_tables(con, store)
    _spans(con, vehicles, hours, days, store)
    _hourly_runs(con, tags, vehicles, hours, days, store)
    for tag in tags.values():
        if tag.name not in HOURLY_TAGS:
            _family_runs(con, tag, vehicles, hours, days, store)
    return vehicles * days * hours * HOUR_S


def build_slice(con, source: str, vehicles: int, store: TagStore) -> int:
    """From the runs of the first ``vehicles`` vehicles of ``source``: the same run layout, the per-second bitmap
    and a long table (tag_id, vehicle_id, ts_s) appended tag by tag (zone maps on ``tag_id`` skip the other tags;
    no filter columns, so fewer bytes than a real long table would scan). Returns the long table's rows."""
    con.execute(f"create or replace table {store.map_table} as select * from {source}.{store.map_table}")
    con.execute(f"create or replace table {store.span_table} as select * from {source}.{store.span_table} "
                f"where vehicle_no <= {vehicles}")
    con.execute(f"create or replace table {store.run_table} as select * from {source}.{store.run_table} "
                f"where span_id in (select span_id from {store.span_table}) order by tag_id, span_id, start_s")
    con.execute(f"""create or replace temp table _tag_second as
        select tag_id, span_id, unnest(range(start_s, end_s + 1)) as ts_s from {store.run_table}""")
    words = ", ".join(f"coalesce(bit_or(case when t.tag_id // {WORD_BITS} = {w} then {ubigint(1)} << "
                      f"(t.tag_id % {WORD_BITS}) end), {ubigint(0)}) as {word_column(w)}"
                      for w in range(word_count(load_tags())))
    con.execute(f"""create or replace table {store.table} as
        select p.vehicle_id, s.ts_s, {', '.join(f'p.{c}' for c in FILTER_COLUMNS)}, {words}
        from (select span_id, unnest(range(start_s, end_s + 1)) as ts_s from {store.span_table}) s
        join {store.span_table} p using (span_id) left join _tag_second t using (span_id, ts_s)
        group by all order by p.vehicle_id, s.ts_s""")
    con.execute("create or replace table long_tag as select t.tag_id, p.vehicle_id, t.ts_s from _tag_second t "
                f"join {store.span_table} p using (span_id) order by t.tag_id, p.vehicle_id, t.ts_s")
    return con.execute("select count(*) from long_tag").fetchone()[0]


def long_query_sql(tag_ids: list[int]) -> str:
    """The conjunction on the long table: seconds having every queried tag, then the same clip merging."""
    carried = ", ".join(f"null as {c}" for c in FILTER_COLUMNS)
    matched = (f"(select vehicle_id, ts_s, {carried} from long_tag where tag_id in ({', '.join(map(str, tag_ids))}) "
               f"group by vehicle_id, ts_s having count(*) = {len(tag_ids)})")
    return clips_sql(matched, DEFAULT_PADDING)


def timed(run) -> tuple[float, tuple]:
    """Median wall seconds of ``REPEATS`` calls of ``run`` (giving clips, clip seconds, matching seconds)."""
    seconds, result = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = tuple(int(v or 0) for v in run())
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), result


def _counted(con, sql: str, params: list | None = None) -> tuple:
    return con.execute(f"select count(*), sum(seconds), sum(matched_s) from ({sql})", params or []).fetchone()


def _mined(con, text: str) -> tuple:
    return mine(con, text).aggregate("count(*), sum(seconds), sum(matched_s)").fetchall()[0]


def _size(path: Path) -> int:
    return path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=500)
    ap.add_argument("--hours", type=int, default=12)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--slice-vehicles", type=int, default=5)
    ap.add_argument("--query", default="rain and night and junction")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fleetloop_bench_mine"))
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    store = TagStore()
    runs_file = args.dir / "runs.duckdb"
    con = connect(runs_file, threads=args.threads)
    t0 = time.perf_counter()
    rows = generate(con, args.vehicles, args.hours, args.days, store)
    con.execute("checkpoint")
    runs = con.execute(f"select count(*) from {store.run_table}").fetchone()[0]
    con.close()
    print(f"run layout: {rows:,} vehicle-seconds ({args.vehicles} vehicles x {args.hours} h x {args.days} days), "
          f"{runs:,} runs, generated in {time.perf_counter() - t0:.0f} s")
    print(f"run layout: {_size(runs_file) / 1e9:.2f} GB, {_size(runs_file) / rows:.2f} bytes per vehicle-second")

    con = connect(runs_file, threads=args.threads, read_only=True)
    tag_map = read_tag_map(con, store)
    query = parse(args.query, tag_map)
    tags = conjunction(query.expr)
    if not tags:
        raise SystemExit("the benchmark takes a conjunction of tags")
    runs_s, (clips, seconds, matched) = timed(lambda: _mined(con, args.query))
    print(f"runs: {args.query!r}: {clips:,} clips, {matched:,} matching seconds, {seconds:,} clip seconds; "
          f"{runs_s:.3f} s (median of {REPEATS})")
    con.close()

    slice_file = args.dir / "slice.duckdb"
    con = connect(slice_file, threads=args.threads)
    con.execute(f"attach '{runs_file}' as src (read_only)")
    t0 = time.perf_counter()
    long_rows = build_slice(con, "src", args.slice_vehicles, store)
    slice_rows = con.execute(f"select count(*) from {store.table}").fetchone()[0]
    print(f"slice: {slice_rows:,} vehicle-seconds ({args.slice_vehicles} vehicles), long table {long_rows:,} rows, "
          f"built in {time.perf_counter() - t0:.0f} s")
    tag_ids = [tag_map[t][0] * WORD_BITS + tag_map[t][1] for t in tags]
    long_s, long_result = timed(lambda: _counted(con, long_query_sql(tag_ids)))
    bitmap_s, bitmap_result = timed(lambda: _counted(con, *compile_query(query, tag_map, store)))
    slice_s, slice_result = timed(lambda: _mined(con, args.query))
    assert long_result == bitmap_result == slice_result, (long_result, bitmap_result, slice_result)
    for table in (store.table, "long_tag"):
        con.execute(f"copy (select * from {table}) to '{args.dir / table}.parquet'")
    con.close()
    bitmap_bytes = _size(args.dir / f"{store.table}.parquet") / slice_rows
    long_bytes = _size(args.dir / "long_tag.parquet") / slice_rows
    print(f"on the slice ({slice_result[0]:,} clips in each): long {long_s:.3f} s, bitmap {bitmap_s:.3f} s, "
          f"runs {slice_s:.3f} s; as Parquet, bitmap {bitmap_bytes:.2f} and long {long_bytes:.2f} bytes per "
          "vehicle-second")
    scale = rows / slice_rows
    print(f"scaled to {rows:,} vehicle-seconds: long {long_s * scale:.1f} s, bitmap {bitmap_s * scale:.1f} s; "
          f"runs measured {runs_s:.3f} s: {long_s * scale / runs_s:.0f}x faster than the long table, "
          f"{bitmap_s * scale / runs_s:.0f}x faster than the bitmap")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
