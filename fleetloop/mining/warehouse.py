"""The tag store of the warehouse: built in schema ``dwd`` from ``dwd.dwd_second_feature`` (the dbt model of the
per-second feature table), and ``dws.dws_tag_1d``, the exposure of every tag per site, version and day, so that
any rate can be conditioned on a scene."""

from __future__ import annotations

import duckdb

from fleetloop.mining.store import TagStore, build_tag_store
from fleetloop.mining.tags import load_tags, word_column

FEATURE_TABLE = "dwd.dwd_second_feature"
EVENT_TABLE = "dwd.dwd_event"
EXPOSURE_TABLE = "dws.dws_tag_1d"
WAREHOUSE_STORE = TagStore(table="dwd.dwd_second_tag", map_table="dwd.dim_tag", span_table="dwd.dim_tag_span",
                           run_table="dwd.dwd_tag_run")
SECONDS_PER_KM_FACTOR = 1000.0  # speed [m/s] x 1 s summed over seconds gives metres


def build_warehouse_store(con: duckdb.DuckDBPyConnection, store: TagStore = WAREHOUSE_STORE) -> dict[str, int]:
    """(Re)build the tag map, the bitmap, the runs and the daily exposure from every day's features; return the
    row counts. The tags are the seed's as it is now: a row added to ``tag_definitions.csv`` appears here."""
    tags = load_tags()
    con.execute("create schema if not exists dwd")
    con.execute("create schema if not exists dws")
    build_tag_store(con, tags, FEATURE_TABLE, store)
    words = max(t.word for t in tags) + 1
    word_of_tag = " ".join(f"when {w} then s.{word_column(w)}" for w in range(words))
    con.execute(f"""
        create or replace table {EXPOSURE_TABLE} as
        with tagged as (
            select m.tag, s.vehicle_id, s.ts_s, s.site_id, s.version, f.speed_mps
            from {store.table} as s
            inner join {FEATURE_TABLE} as f on f.vehicle_id = s.vehicle_id and f.ts_s = s.ts_s
            inner join {store.map_table} as m on ((case m.word {word_of_tag} end) & m.mask) <> 0
        ),
        event_seconds as (
            select vehicle_id, epoch(ts_start)::bigint as ts_s, count(*) as n_events
            from {EVENT_TABLE} where vehicle_id is not null group by all
        )
        select cast(to_timestamp(t.ts_s) at time zone 'UTC' as date) as dt, t.tag, t.site_id, t.version,
               count(*) as seconds, sum(coalesce(t.speed_mps, 0)) / {SECONDS_PER_KM_FACTOR} as km,
               coalesce(sum(e.n_events), 0) as n_events
        from tagged as t
        left join event_seconds as e on e.vehicle_id = t.vehicle_id and e.ts_s = t.ts_s
        group by all
        order by dt, tag, site_id, version""")
    return {table: con.execute(f"select count(*) from {table}").fetchone()[0]
            for table in (store.map_table, store.table, store.span_table, store.run_table, EXPOSURE_TABLE)}
