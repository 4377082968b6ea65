"""The tag store of the warehouse: built in schema ``dwd`` from ``dwd.dwd_second_feature`` (the dbt model of the
per-second feature table), with the driven seconds per day, site, version and tag words (``dws.dws_tag_cell_1d``:
the exposure of any tag conjunction is a sum over its cells), the exposure of every tag (``dws.dws_tag_1d``) and
of every declared scene (``dws.dws_scene_1d``, seed ``scene_definitions``) per site, version and day, the tags and
scenes each event
starts in (``dwd.dwd_event_scene``), so that any rate can be conditioned on a scene (``ads.ads_scene_rate``), and
a few example clips of every scene with the ego's path (``dwd.dwd_scene_example``: the published file carries no
other ego position)."""

from __future__ import annotations

import duckdb

from fleetloop.mining.clips import DEFAULT_PADDING, Padding
from fleetloop.mining.ego_path import with_path_sql
from fleetloop.mining.engine import mine
from fleetloop.mining.scenes import ALL_SECONDS, Scene, load_scenes, scene_condition
from fleetloop.mining.store import TagStore, build_tag_store
from fleetloop.mining.tags import Tag, load_tags, word_column

FEATURE_TABLE = "dwd.dwd_second_feature"
EVENT_TABLE = "dwd.dwd_event"
EXPOSURE_TABLE = "dws.dws_tag_1d"
SCENE_EXPOSURE_TABLE = "dws.dws_scene_1d"
EXPOSURE_CELL_TABLE = "dws.dws_tag_cell_1d"  # the driven seconds per day, site, version and tag words
EVENT_SCENE_TABLE = "dwd.dwd_event_scene"
EXAMPLE_TABLE = "dwd.dwd_scene_example"
WAREHOUSE_STORE = TagStore(table="dwd.dwd_second_tag", map_table="dwd.dim_tag", span_table="dwd.dim_tag_span",
                           run_table="dwd.dwd_tag_run")
SECONDS_PER_KM_FACTOR = 1000.0  # speed [m/s] x 1 s summed over seconds gives metres
# an event counts in the second of its start, rounded as the feature table's trigger flags round it
EVENT_SECONDS_SQL = (f"select event_id, vehicle_id, epoch(ts_start)::bigint as ts_s from {EVENT_TABLE} "
                     "where vehicle_id is not null")
_DAY_SQL = "cast(to_timestamp(t.ts_s) at time zone 'UTC' as date)"
EXAMPLES_PER_SCENE = 3  # clips kept per scene: those with most matching seconds, up to EXAMPLE_MAX_S long
EXAMPLE_MAX_S = 60
EXAMPLE_PADDING = DEFAULT_PADDING  # the ego's path is kept this long before and after the matching seconds
_NO_PADDING = Padding(before_s=0, after_s=0)


def _tag_rows_sql(store: TagStore, tags: tuple[Tag, ...], label: str, rows: str) -> str:
    """``rows`` (a relation with the bitmap's columns) once per tag that holds on the row, as
    ``(scene_kind 'tag', <label> = the tag, <the row's columns>)``."""
    words = max(t.word for t in tags) + 1
    word_of_tag = " ".join(f"when {w} then s.{word_column(w)}" for w in range(words))
    return (f"select 'tag' as scene_kind, m.tag as {label}, s.* from {rows} as s "
            f"inner join {store.map_table} as m on ((case m.word {word_of_tag} end) & m.mask) <> 0")


def _scene_rows_sql(scenes: tuple[Scene, ...], tag_map: dict[str, tuple[int, int]], label: str, rows: str) -> str:
    """``rows`` once per declared scene that holds on the row (scene_kind 'scene') and once as ``ALL_SECONDS``
    (scene_kind 'all'), as ``(scene_kind, <label> = the scene, <the row's columns>)``."""
    parts = [f"select 'scene' as scene_kind, '{sc.name}' as {label}, s.* from {rows} as s "
             f"where {scene_condition(sc.tags, tag_map, 's')}" for sc in scenes]
    parts.append(f"select 'all' as scene_kind, '{ALL_SECONDS}' as {label}, s.* from {rows} as s")
    return "\nunion all\n".join(parts)


def _cells_sql(store: TagStore, tags: tuple[Tag, ...]) -> str:
    """The driven seconds grouped by day, site, version and bitmap words (a few thousand cells a day): seconds,
    metres (speed x 1 s) and events starting in them. A tag, scene or tag conjunction holds on a whole cell or on
    none of it, so exposure is summed over cells, not seconds."""
    words = "".join(f"t.{word_column(w)}, " for w in range(max(t.word for t in tags) + 1))
    return f"""
        create or replace table {EXPOSURE_CELL_TABLE} as
        with event_seconds as (
            select vehicle_id, ts_s, count(*) as n_events from ({EVENT_SECONDS_SQL}) group by all
        )
        select {_DAY_SQL} as dt, t.site_id, t.version, {words}
               count(*) as seconds, sum(coalesce(f.speed_mps, 0)) as distance_m,
               coalesce(sum(e.n_events), 0) as n_events
        from {store.table} as t
        inner join {FEATURE_TABLE} as f on f.vehicle_id = t.vehicle_id and f.ts_s = t.ts_s
        left join event_seconds as e on e.vehicle_id = t.vehicle_id and e.ts_s = t.ts_s
        group by all
        order by all"""


def _exposure_sql(target: str, labels: str, tagged: str) -> str:
    """Per day, ``labels`` (columns of ``tagged``, rows of the cells), site and version: seconds, km and events."""
    return f"""
        create or replace table {target} as
        with tagged as ({tagged})
        select t.dt, {labels}, t.site_id, t.version, sum(t.seconds)::bigint as seconds,
               sum(t.distance_m) / {SECONDS_PER_KM_FACTOR} as km, sum(t.n_events) as n_events
        from tagged as t
        group by all
        order by all"""


def _event_scene_sql(store: TagStore, tags: tuple[Tag, ...], scenes: tuple[Scene, ...],
                     tag_map: dict[str, tuple[int, int]]) -> str:
    """Per event, every tag and scene that holds on the second it starts in, with that second's day, site and
    version (an event of a second without features, or of no vehicle, has no row)."""
    rows = (f"(select s.* from {store.table} as s "
            f"semi join ({EVENT_SECONDS_SQL}) as e on e.vehicle_id = s.vehicle_id and e.ts_s = s.ts_s)")
    return f"""
        create or replace table {EVENT_SCENE_TABLE} as
        with tagged as (
            {_tag_rows_sql(store, tags, "scene", rows)}
            union all
            {_scene_rows_sql(scenes, tag_map, "scene", rows)}
        )
        select e.event_id, t.scene_kind, t.scene, {_DAY_SQL} as dt, t.site_id, t.version
        from tagged as t
        inner join ({EVENT_SECONDS_SQL}) as e on e.vehicle_id = t.vehicle_id and e.ts_s = t.ts_s
        order by t.scene, e.event_id"""


def _build_examples(con: duckdb.DuckDBPyConnection, store: TagStore, scenes: tuple[Scene, ...]) -> None:
    """Per scene, its ``EXAMPLES_PER_SCENE`` clips with most matching seconds (mined without padding, at most
    ``EXAMPLE_MAX_S`` long; ties by vehicle and start), each with the ego's 10 Hz pose from
    ``EXAMPLE_PADDING.before_s`` before its first to ``EXAMPLE_PADDING.after_s`` after its last second as ``path``."""
    columns = "scene VARCHAR, clip_rank INTEGER, vehicle_id VARCHAR, clip_start TIMESTAMPTZ, clip_end TIMESTAMPTZ, " \
              "matched_s BIGINT, site_id VARCHAR, route_id VARCHAR, version VARCHAR, vehicle_class VARCHAR"
    con.execute(f"create or replace temp table _scene_example ({columns})")
    for scene in scenes:
        clips = mine(con, scene.query, store, padding=_NO_PADDING).filter(f"seconds <= {EXAMPLE_MAX_S}") \
            .order("matched_s desc, vehicle_id, clip_start").limit(EXAMPLES_PER_SCENE) \
            .select("vehicle_id, clip_start, clip_end, matched_s, site_id, route_id, version, vehicle_class") \
            .fetchall()
        for rank, clip in enumerate(clips, start=1):
            con.execute("insert into _scene_example values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [scene.name, rank, *clip])
    with_path = with_path_sql("_scene_example", "clip_start", "clip_end", EXAMPLE_PADDING)
    con.execute(f"create or replace table {EXAMPLE_TABLE} as {with_path} order by scene, clip_rank")
    con.execute("drop table _scene_example")


def build_warehouse_store(con: duckdb.DuckDBPyConnection, store: TagStore = WAREHOUSE_STORE) -> dict[str, int]:
    """(Re)build the tag map, the bitmap, the runs, the daily exposure of tags and scenes, the events' tags and
    scenes and the scenes' example clips from every day's features; return the row counts. The tags and scenes
    are the seeds' as they are now: a row added to ``tag_definitions.csv`` or ``scene_definitions.csv`` appears
    here."""
    tags = load_tags()
    tag_map = {t.name: (t.word, t.bit) for t in tags}
    scenes = load_scenes(tag_map)  # checked before anything is written
    con.execute("create schema if not exists dwd")
    con.execute("create schema if not exists dws")
    build_tag_store(con, tags, FEATURE_TABLE, store)
    con.execute(_cells_sql(store, tags))
    con.execute(_exposure_sql(EXPOSURE_TABLE, "t.tag", _tag_rows_sql(store, tags, "tag", EXPOSURE_CELL_TABLE)))
    con.execute(_exposure_sql(SCENE_EXPOSURE_TABLE, "t.scene_kind, t.scene",
                              _scene_rows_sql(scenes, tag_map, "scene", EXPOSURE_CELL_TABLE)))
    con.execute(_event_scene_sql(store, tags, scenes, tag_map))
    _build_examples(con, store, scenes)
    return {table: con.execute(f"select count(*) from {table}").fetchall()[0][0]
            for table in (store.map_table, store.table, store.span_table, store.run_table, EXPOSURE_CELL_TABLE,
                          EXPOSURE_TABLE, SCENE_EXPOSURE_TABLE, EVENT_SCENE_TABLE, EXAMPLE_TABLE)}
