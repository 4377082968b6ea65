"""Mining speed: a 3-tag conjunction with clip merging on a synthetic bitmap tag store, against the same query on
a long table (one row per second and tag).

    python benchmarks/bench_mine.py [--vehicles 500] [--hours 12] [--days 30] [--long-vehicles 5]
                                    [--query 'rain and night and junction'] [--dir /tmp/fleetloop_bench_mine]

The store has the seed's tags (``seeds/tag_definitions.csv``). Generated in DuckDB from ``range()`` and hashing:
light by hour of the shift (night the last 2 of 12 h), weather per site and hour (rain 15%, fog 3%, snow 2%),
junctions in 20 s road segments (12%), every other tag a random bit held for 5 s (density 1/8). The long table is
built from the first ``--long-vehicles`` vehicles, grouped by tag (its best layout: zone maps skip the other tags), and
its time scaled by rows. Prints wall seconds (median of 3), bytes per vehicle-second and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

from fleetloop.mining.clips import DEFAULT_PADDING, clips_sql
from fleetloop.mining.engine import compile_query
from fleetloop.mining.features import FILTER_COLUMNS
from fleetloop.mining.language import And, TagRef, parse
from fleetloop.mining.store import TagStore, ubigint, write_tag_map
from fleetloop.mining.tags import load_tags, word_column, word_count
from fleetloop.warehouse import connect

DAY0_S = 1_788_220_800  # 2026-09-01 00:00 UTC
SHIFT_START_S = 8 * 3600
SITES = ("bj_yizhuang", "su_logistics", "sz_nanshan", "gz_nansha_port", "sh_lingang", "wh_econ_zone")
NIGHT_HOURS, DUSK_HOURS = 2, 2  # the last hours of the shift
RAIN_PCT, FOG_PCT, SNOW_PCT, JUNCTION_PCT = 15, 3, 2, 12
JUNCTION_SEGMENT_S, BACKGROUND_HOLD_S = 20, 5
REPEATS = 3


def _bit(tags, name: str, condition: str, word: int) -> str:
    t = tags[name]
    return f"(case when {condition} then {ubigint(t.mask)} else {ubigint(0)} end)" if t.word == word else ubigint(0)


def generate(con, vehicles: int, hours: int, days: int, store: TagStore) -> int:
    """Write the synthetic bitmap table; return its rows."""
    tags = {t.name: t for t in load_tags()}
    write_tag_map(con, tuple(tags.values()), store)
    shift_s = hours * 3600
    light_h = f"(s // 3600 - {hours - NIGHT_HOURS - DUSK_HOURS})"
    weather = f"(hash(v % {len(SITES)}, d, s // 3600) % 100)"
    words = []
    for w in range(word_count(tuple(tags.values()))):
        explicit = [t for t in tags.values() if t.word == w and t.name in ("day", "dusk", "night", "clear", "rain",
                                                                         "fog", "snow", "junction")]
        keep = ~sum(t.mask for t in explicit) & (2 ** 64 - 1)
        h = f"hash(v, d, s // {BACKGROUND_HOLD_S}, {w})"
        rotations = [f"((({h}) & {ubigint(2 ** (64 - k) - 1)}) << {k} | ({h}) >> {64 - k})" for k in (21, 42)]
        background = " & ".join([h, *rotations])  # a hash and two of its rotations: density 1/8
        bits = " | ".join([
            _bit(tags, "day", f"{light_h} < 0", w), _bit(tags, "dusk", f"{light_h} between 0 and {DUSK_HOURS - 1}", w),
            _bit(tags, "night", f"{light_h} >= {DUSK_HOURS}", w),
            _bit(tags, "rain", f"{weather} < {RAIN_PCT}", w),
            _bit(tags, "fog", f"{weather} between {RAIN_PCT} and {RAIN_PCT + FOG_PCT - 1}", w),
            _bit(tags, "snow", f"{weather} between {RAIN_PCT + FOG_PCT} and {RAIN_PCT + FOG_PCT + SNOW_PCT - 1}", w),
            _bit(tags, "clear", f"{weather} >= {RAIN_PCT + FOG_PCT + SNOW_PCT}", w),
            _bit(tags, "junction", f"hash(v, d, s // {JUNCTION_SEGMENT_S}, 99) % 100 < {JUNCTION_PCT}", w)])
        words.append(f"(({background}) & {ubigint(keep)}) | {bits} as {word_column(w)}")
    rows = vehicles * days * shift_s
    con.execute(f"""
        create or replace table {store.table} as
        with i as (select range // {vehicles * shift_s} as d, range // {shift_s} % {vehicles} as v,
                          range % {shift_s} as s from range({rows}))
        select 'veh_' || lpad(v::VARCHAR, 4, '0') as vehicle_id,
               {DAY0_S} + d * 86400 + {SHIFT_START_S} + s as ts_s,
               ['{"', '".join(SITES)}'][v % {len(SITES)} + 1] as site_id,
               ['{"', '".join(SITES)}'][v % {len(SITES)} + 1] || '-r' || (v // {len(SITES)} % 3 + 1) as route_id,
               case when hash(v) % 2 = 0 then 'v3.2.0' else 'v3.3.0' end as version,
               ['campus_robot', 'urban_delivery', 'highway_truck'][v // {len(SITES)} % 3 + 1] as vehicle_class,
               {', '.join(words)}
        from i""")
    return rows


def build_long(con, source: str, vehicles: int, store: TagStore) -> int:
    """One row per (tag, vehicle, second) of the first ``vehicles`` vehicles, appended tag by tag (so zone maps on
    ``tag_id`` skip the other tags); no filter columns (fewer bytes than a real long table would scan)."""
    con.execute("create or replace table long_tag (tag_id SMALLINT, vehicle_id VARCHAR, ts_s BIGINT)")
    for tag_id, word, mask in con.execute(f"select tag_id, word, mask from {source}.{store.map_table} "
                                          "order by tag_id").fetchall():
        con.execute(f"insert into long_tag select {tag_id}, vehicle_id, ts_s from {source}.{store.table} "
                    f"where vehicle_id < 'veh_{vehicles:04d}' and ({word_column(word)} & {ubigint(mask)}) <> 0")
    return con.execute("select count(*) from long_tag").fetchone()[0]


def long_query_sql(con, query_tags: list[str], source: str, store: TagStore) -> str:
    """The conjunction on the long table: seconds having every queried tag, then the same clip merging."""
    ids = [r[0] for r in con.execute(f"select tag_id from {source}.{store.map_table} where tag in "
                                     f"({', '.join(repr(t) for t in query_tags)})").fetchall()]
    carried = ", ".join(f"null as {c}" for c in FILTER_COLUMNS)
    matched = (f"(select vehicle_id, ts_s, {carried} from long_tag where tag_id in ({', '.join(map(str, ids))}) "
               f"group by vehicle_id, ts_s having count(*) = {len(ids)})")
    return clips_sql(matched, DEFAULT_PADDING)


def timed(con, sql: str, params: list | None = None) -> tuple[float, tuple]:
    """Median wall seconds of ``REPEATS`` runs of ``sql`` (clips counted in DuckDB) and the counts."""
    seconds, result = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = con.execute(f"select count(*), sum(seconds), sum(matched_s) from ({sql})", params or []).fetchone()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=500)
    ap.add_argument("--hours", type=int, default=12)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--long-vehicles", type=int, default=5)
    ap.add_argument("--query", default="rain and night and junction")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fleetloop_bench_mine"))
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    store = TagStore()
    bitmap_file = args.dir / "bitmap.duckdb"
    con = connect(bitmap_file, threads=args.threads)
    t0 = time.perf_counter()
    rows = generate(con, args.vehicles, args.hours, args.days, store)
    con.execute("checkpoint")
    print(f"bitmap store: {rows:,} vehicle-seconds ({args.vehicles} vehicles x {args.hours} h x {args.days} days), "
          f"generated in {time.perf_counter() - t0:.0f} s")
    con.close()
    size = bitmap_file.stat().st_size
    print(f"bitmap store: {size / 1e9:.2f} GB, {size / rows:.2f} bytes per vehicle-second")

    con = connect(bitmap_file, threads=args.threads, read_only=True)
    tag_map = {t: (w, b) for t, w, b in con.execute(f"select tag, word, bit from {store.map_table}").fetchall()}
    query = parse(args.query, tag_map)
    sql, params = compile_query(query, tag_map, store)
    bitmap_s, (clips, seconds, matched) = timed(con, sql, params)
    print(f"bitmap: {args.query!r}: {clips:,} clips, {matched:,} matching seconds, {seconds:,} clip seconds; "
          f"{bitmap_s:.3f} s (median of {REPEATS})")
    con.close()

    long_file = args.dir / "long.duckdb"
    con = connect(long_file, threads=args.threads)
    con.execute(f"attach '{bitmap_file}' as src (read_only)")
    t0 = time.perf_counter()
    long_rows = build_long(con, "src", args.long_vehicles, store)
    slice_rows = con.execute(f"select count(*) from src.{store.table} where vehicle_id < "
                             f"'veh_{args.long_vehicles:04d}'").fetchone()[0]
    print(f"long table: {long_rows:,} rows for {slice_rows:,} vehicle-seconds ({args.long_vehicles} vehicles), "
          f"built in {time.perf_counter() - t0:.0f} s")
    long_s, long_result = timed(con, long_query_sql(con, [t.name for t in _tags_of(query.expr)], "src", store))
    slice_sql, slice_params = compile_query(query, tag_map, TagStore(f"(select * from src.{store.table} where "
                                                                     f"vehicle_id < 'veh_{args.long_vehicles:04d}')",
                                                                     store.map_table))
    slice_s, slice_result = timed(con, slice_sql, slice_params)
    assert long_result == slice_result, (long_result, slice_result)
    con.close()
    scaled_s = long_s * rows / slice_rows
    print(f"on the slice: long {long_s:.3f} s, bitmap {slice_s:.3f} s (same clips: {slice_result[0]:,}), "
          f"ratio {long_s / slice_s:.1f}x")
    print(f"long table scaled to {rows:,} vehicle-seconds: {scaled_s:.1f} s, "
          f"ratio to the bitmap {scaled_s / bitmap_s:.0f}x")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


def _tags_of(expr):
    if isinstance(expr, TagRef):
        return [expr]
    if isinstance(expr, And):
        return [t for o in expr.operands for t in _tags_of(o)]
    raise SystemExit("the long-table comparison takes a conjunction of tags")


if __name__ == "__main__":
    main()
