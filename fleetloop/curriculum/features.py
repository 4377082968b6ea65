"""Case features: one documented row per case of ``dwd.dwd_case`` (``ads.ads_case_feature``) and the share of its
window's seconds per tag (``ads.ads_case_tag``), in SQL over the warehouse.

A case's window is ``[ts_start, ts_end)`` of ``dwd.dwd_case``; its seconds are the tag store's seconds
(``dwd.dwd_second_tag``) of the vehicle whose UTC second starts in ``[floor(ts_start), ts_end)``. The share of a
tag is the window's seconds where it holds over the window's stored seconds. Map context, light, weather and
version are the most frequent values of ``dwd.dwd_second_feature`` over the window (ties: the smallest). The
scorer's verdict is the latest scoring of the case in ``scorer.solutions`` (``fleetloop.scorer.nightly.TABLES``):
status, the components the log failed (score below 1) and those the solution raised (improved only)."""

from __future__ import annotations

import duckdb

from fleetloop.curriculum.config import CASE_FEATURE_TABLE, CASE_TAG_TABLE
from fleetloop.curriculum.tables import create_table, row_count
from fleetloop.mining.queue import has_table
from fleetloop.mining.tags import word_column
from fleetloop.mining.warehouse import FEATURE_TABLE, WAREHOUSE_STORE
from fleetloop.scorer.scoring import COMPONENTS

CASE_TABLE = "dwd.dwd_case"
SOLUTIONS_TABLE = "scorer.solutions"
PASSED = 1.0  # a component score of 1 passes; below fails (fleetloop.scorer.select)

FEATURE_COLUMNS: tuple[tuple[str, str, str], ...] = (  # name, DuckDB type, description
    ("case_id", "varchar", "the case (dwd.dwd_case)"),
    ("dt", "date", "UTC day of the case's first event"),
    ("vehicle_id", "varchar", "vehicle of the case"),
    ("site_id", "varchar", "site of the case"),
    ("vehicle_class", "varchar", "vehicle class from the registry"),
    ("version", "varchar", "software version running over most of the window's seconds"),
    ("ts_start", "timestamptz", "window start (UTC)"),
    ("ts_end", "timestamptz", "window end (UTC)"),
    ("window_s", "bigint", "seconds of the window in the tag store"),
    ("triggers", "varchar[]", "the case's triggers, sorted"),
    ("trigger_labels", "varchar[]", "triggers with their tiers, e.g. hard_brake(hard)"),
    ("n_events", "bigint", "events merged into the case"),
    ("severity", "integer", "highest event severity"),
    ("perception_suspect", "boolean", "routed to raw upload"),
    ("hour_utc", "integer", "UTC hour of the first event"),
    ("light", "varchar", "day, dusk or night over most of the window"),
    ("weather", "varchar", "clear, rain, fog or snow over most of the window"),
    ("road_type", "varchar", "road class over most of the window"),
    ("junction_share", "double", "share of the window's seconds inside a junction"),
    ("crosswalk_share", "double", "share of the window's seconds on a crosswalk"),
    ("scorer_dt", "date", "run day of the latest scoring (null: not scored)"),
    ("scorer_status", "varchar", "'improved', 'log_best' or 'error' (null: not scored)"),
    ("resolved_trigger", "varchar", "the trigger the solution resolves (improved only)"),
    ("failed_components", "varchar[]", "score components the log failed (below 1)"),
    ("fixed_components", "varchar[]", "score components the solution raised above the log's (improved only)"),
    ("package_path", "varchar", "the ScenarioSolutionPair file of the solution (improved only)"),
)
TAG_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("case_id", "varchar", "the case"),
    ("tag", "varchar", "a tag of dwd.dim_tag that holds on at least one second of the window"),
    ("family", "varchar", "the tag's family"),
    ("seconds", "bigint", "window seconds where the tag holds"),
    ("share", "double", "seconds / window_s"),
)


def _verdict_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The latest scoring per case, or an empty relation of the same columns when the scorer never ran."""
    failed = ", ".join(f"case when log_{k} < {PASSED} then '{k}' end" for k in COMPONENTS)
    fixed = ", ".join(f"case when sol_{k} > log_{k} then '{k}' end" for k in COMPONENTS)
    if not has_table(con, SOLUTIONS_TABLE):
        return ("(select null::varchar as case_id, null::date as scorer_dt, null::varchar as scorer_status, "
                "null::varchar as resolved_trigger, null::varchar[] as failed_components, "
                "null::varchar[] as fixed_components, null::varchar as package_path where false)")
    return f"""(
        select case_id, dt as scorer_dt, status as scorer_status, resolved_trigger,
               list_filter([{failed}], lambda x: x is not null) as failed_components,
               case when status = 'improved' then list_filter([{fixed}], lambda x: x is not null)
                    else []::varchar[] end as fixed_components,
               package_path
        from {SOLUTIONS_TABLE}
        qualify row_number() over (partition by case_id order by dt desc) = 1)"""


def build_case_features(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """(Re)build ``ads.ads_case_feature`` and ``ads.ads_case_tag`` from every case; return their row counts."""
    store = WAREHOUSE_STORE
    words = con.execute(f"select max(word) + 1 from {store.map_table}").fetchall()[0][0] or 0
    word_of_tag = " ".join(f"when {w} then s.{word_column(w)}" for w in range(words))
    con.execute("create schema if not exists ads")
    for table, columns in ((CASE_FEATURE_TABLE, FEATURE_COLUMNS), (CASE_TAG_TABLE, TAG_COLUMNS)):
        create_table(con, table, columns)
    con.execute(f"""
        create or replace temp table _case_second as
        select c.case_id, s.*
        from {CASE_TABLE} as c
        inner join {store.table} as s
            on s.vehicle_id = c.vehicle_id
            and s.ts_s >= floor(epoch(c.ts_start))::bigint and s.ts_s < epoch(c.ts_end)""")
    con.execute(f"""
        insert into {CASE_TAG_TABLE} by name
        with window_seconds as (select case_id, count(*) as window_s from _case_second group by case_id)
        select s.case_id, m.tag, m.family, count(*)::bigint as seconds, (count(*) / any_value(w.window_s))::double
               as share
        from _case_second as s
        inner join {store.map_table} as m on ((case m.word {word_of_tag} end) & m.mask) <> 0
        inner join window_seconds as w on w.case_id = s.case_id
        group by s.case_id, m.tag, m.family
        order by s.case_id, m.tag""")
    con.execute(f"""
        insert into {CASE_FEATURE_TABLE} by name
        with window_context as (
            select s.case_id, count(*)::bigint as window_s,
                   mode() within group (order by f.version) as version,
                   mode() within group (order by f.light) as light,
                   mode() within group (order by f.weather) as weather,
                   mode() within group (order by f.road_type) as road_type,
                   avg(coalesce(f.in_junction, false)::integer)::double as junction_share,
                   avg(coalesce(f.on_crosswalk, false)::integer)::double as crosswalk_share
            from _case_second as s
            inner join {FEATURE_TABLE} as f on f.vehicle_id = s.vehicle_id and f.ts_s = s.ts_s
            group by s.case_id
        ),
        verdict as {_verdict_sql(con)}
        select c.case_id, c.dt, c.vehicle_id, c.site_id, c.vehicle_class, w.version, c.ts_start, c.ts_end,
               coalesce(w.window_s, 0)::bigint as window_s, c.triggers, c.trigger_labels,
               c.n_events::bigint as n_events,
               c.severity::integer as severity, c.perception_suspect,
               hour(c.first_event_ts at time zone 'UTC')::integer as hour_utc,
               w.light, w.weather, w.road_type, w.junction_share, w.crosswalk_share,
               v.scorer_dt, v.scorer_status, v.resolved_trigger, v.failed_components, v.fixed_components,
               v.package_path
        from {CASE_TABLE} as c
        left join window_context as w on w.case_id = c.case_id
        left join verdict as v on v.case_id = c.case_id
        order by c.case_id""")
    con.execute("drop table _case_second")
    return {t: row_count(con, t) for t in (CASE_FEATURE_TABLE, CASE_TAG_TABLE)}
