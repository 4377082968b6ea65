"""Trends of the problems: per problem, period (UTC day, ISO week) and version the member cases, the exposure of
the problem's scene (seconds and km where every tag of its ``scene_tags`` holds, from the tag store), the rate per
10,000 km with its exact 95% interval (``ads.ads_problem_trend``); per problem and version over all days the
rate against the baseline release with the exact conditional test of ``ads_version_compare``
(``ads.ads_problem_version``); and alerts (``ads.ads_problem_alert``): a problem first seen on the latest day, or
one whose rate on the latest day is significantly above its rate on the days before. A problem without defining
tags has the whole fleet's driving as its exposure."""

from __future__ import annotations

import duckdb

from fleetloop.curriculum.config import (
    ALERT_TABLE,
    ALL_VERSIONS,
    PROBLEM_CASE_TABLE,
    PROBLEM_TABLE,
    TREND_TABLE,
    VERSION_TABLE,
    CurriculumConfig,
)
from fleetloop.curriculum.stats import conditional_p, per_10k_km, rate_interval
from fleetloop.curriculum.tables import create_table, row_count
from fleetloop.mining.scenes import scene_condition
from fleetloop.mining.store import read_tag_map
from fleetloop.mining.warehouse import EXPOSURE_CELL_TABLE, SECONDS_PER_KM_FACTOR, WAREHOUSE_STORE

VERSIONS_SEED = "ref.software_versions"
NEW, GROWTH = "new", "growth"
RATE = (("n_cases", "bigint", "member cases"),
        ("exposure_s", "bigint", "seconds of the problem's scene (scene_tags)"),
        ("exposure_km", "double", "km driven in the problem's scene"),
        ("rate_per_10k_km", "double", "cases per 10,000 km of the scene"),
        ("ci_low", "double", "exact (Garwood) 95% interval, low end"),
        ("ci_high", "double", "exact 95% interval, high end"))
TREND_COLUMNS = (
    ("problem_id", "bigint", "the problem (ads.ads_problem)"),
    ("grain", "varchar", "'day' or 'week' (ISO week, its Monday)"),
    ("period_start", "date", "the UTC day or the Monday of the week"),
    ("version", "varchar", f"software version, '{ALL_VERSIONS}' for every version pooled"),
    *RATE,
)
VERSION_COLUMNS = (
    ("problem_id", "bigint", "the problem"),
    ("version", "varchar", "software version"),
    ("is_baseline", "boolean", "the earliest release of seed software_versions"),
    ("baseline_version", "varchar", "the version compared against"),
    *RATE,
    ("baseline_n_cases", "bigint", "member cases under the baseline"),
    ("baseline_exposure_km", "double", "scene km under the baseline"),
    ("rate_ratio", "double", "rate / baseline rate"),
    ("p_value", "double", "exact conditional binomial test of the two counts given their exposures"),
    ("is_significant", "boolean", "p_value < alpha"),
)
ALERT_COLUMNS = (
    ("dt", "date", "the latest day of the run"),
    ("problem_id", "bigint", "the problem"),
    ("name", "varchar", "its name"),
    ("kind", "varchar", "'new' (first member on this day) or 'growth' (rate significantly above the days before)"),
    ("n_cases", "bigint", "member cases on the day"),
    ("rate_per_10k_km", "double", "rate on the day"),
    ("before_rate_per_10k_km", "double", "rate over the days before"),
    ("p_value", "double", "exact conditional test, day against the days before (growth only)"),
)


def build_exposure(con: duckdb.DuckDBPyConnection) -> None:
    """``_problem_exposure``: per active problem, day and version, seconds and km of its scene (``scene_tags``),
    summed over the tag store's cells (``dws.dws_tag_cell_1d``: a scene holds on a whole cell or on none of it)."""
    con.execute("create or replace temp table _problem_exposure (problem_id bigint, dt date, version varchar, "
                "exposure_s bigint, exposure_km double)")
    tag_map = read_tag_map(con, WAREHOUSE_STORE)
    for pid, tags in con.execute(f"select problem_id, scene_tags from {PROBLEM_TABLE} where status = 'active' "
                                 "order by problem_id").fetchall():
        con.execute(f"""
            insert into _problem_exposure
            select {pid}, s.dt, s.version, sum(s.seconds), sum(s.distance_m) / {SECONDS_PER_KM_FACTOR}
            from {EXPOSURE_CELL_TABLE} as s
            where {scene_condition(list(tags), tag_map, 's')}
            group by all""")


def _rate_sql(count: str = "n_cases", km: str = "exposure_km") -> str:
    low, high = rate_interval(count, km)
    return f"{per_10k_km(count, km)} as rate_per_10k_km, {low} as ci_low, {high} as ci_high"


def build_trends(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig) -> dict[str, int]:
    """(Re)build the trend, version and alert tables from ``ads.ads_problem`` and ``ads.ads_problem_case``."""
    build_exposure(con)
    con.execute(f"""
        create or replace temp table _problem_day as
        with cases as (
            select problem_id, dt, version, count(*) as n_cases from {PROBLEM_CASE_TABLE}
            where problem_id is not null group by all
        )
        select problem_id, dt, version, coalesce(c.n_cases, 0)::bigint as n_cases,
               coalesce(e.exposure_s, 0)::bigint as exposure_s, coalesce(e.exposure_km, 0)::double as exposure_km
        from cases as c full outer join _problem_exposure as e using (problem_id, dt, version)""")
    create_table(con, TREND_TABLE, TREND_COLUMNS)
    periods = {"day": "dt", "week": "date_trunc('week', dt)::date"}
    for grain, period in periods.items():
        for version in ("version", f"'{ALL_VERSIONS}'"):
            con.execute(f"""
                insert into {TREND_TABLE} by name
                select problem_id, '{grain}' as grain, period_start, version, n_cases, exposure_s, exposure_km,
                       {_rate_sql()}
                from (select problem_id, {period} as period_start, {version} as version,
                             sum(n_cases)::bigint as n_cases, sum(exposure_s)::bigint as exposure_s,
                             sum(exposure_km)::double as exposure_km
                      from _problem_day group by all)""")
    con.execute(f"create or replace table {TREND_TABLE} as select * from {TREND_TABLE} "
                "order by problem_id, grain, period_start, version")
    create_table(con, TREND_TABLE, TREND_COLUMNS, replace=False)  # comments of the sorted copy
    create_table(con, VERSION_TABLE, VERSION_COLUMNS)
    con.execute(f"""
        insert into {VERSION_TABLE} by name
        with per_version as (
            select problem_id, version, sum(n_cases)::bigint as n_cases, sum(exposure_s)::bigint as exposure_s,
                   sum(exposure_km)::double as exposure_km
            from _problem_day where version is not null group by all
        ),
        baseline as (select version as baseline_version from {VERSIONS_SEED} order by released_on, version limit 1)
        select v.*, v.version = b.baseline_version as is_baseline, b.baseline_version,
               {_rate_sql('v.n_cases', 'v.exposure_km')},
               coalesce(base.n_cases, 0)::bigint as baseline_n_cases,
               coalesce(base.exposure_km, 0)::double as baseline_exposure_km,
               {per_10k_km('v.n_cases', 'v.exposure_km')}
                   / nullif({per_10k_km('base.n_cases', 'base.exposure_km')}, 0) as rate_ratio,
               case when v.version != b.baseline_version then
                   {conditional_p('v.n_cases', 'v.exposure_km', 'coalesce(base.n_cases, 0)',
                                  'coalesce(base.exposure_km, 0)')} end as p_value,
               coalesce(p_value < {cfg.alpha}, false) as is_significant
        from per_version as v
        cross join baseline as b
        left join per_version as base on base.problem_id = v.problem_id and base.version = b.baseline_version
        order by v.problem_id, v.version""")
    create_table(con, ALERT_TABLE, ALERT_COLUMNS)
    con.execute(f"""
        insert into {ALERT_TABLE} by name
        with latest as (select max(dt) as dt from {PROBLEM_CASE_TABLE}),
        split as (
            select d.problem_id, d.dt = l.dt as is_latest, sum(d.n_cases)::bigint as n_cases,
                   sum(d.exposure_km)::double as exposure_km
            from _problem_day as d cross join latest as l where d.dt <= l.dt group by all
        ),
        compared as (
            select p.problem_id, p.name, p.first_dt, l.dt, t.n_cases, t.exposure_km,
                   coalesce(b.n_cases, 0) as before_n, coalesce(b.exposure_km, 0) as before_km
            from {PROBLEM_TABLE} as p
            cross join latest as l
            inner join split as t on t.problem_id = p.problem_id and t.is_latest
            left join split as b on b.problem_id = p.problem_id and not b.is_latest
            where p.status = 'active'
        ),
        tested as (
            select *, {per_10k_km('n_cases', 'exposure_km')} as rate_per_10k_km,
                   {per_10k_km('before_n', 'before_km')} as before_rate_per_10k_km,
                   {conditional_p('n_cases', 'exposure_km', 'before_n', 'before_km')} as p_value
            from compared
        )
        select dt, problem_id, name, '{NEW}' as kind, n_cases, rate_per_10k_km, before_rate_per_10k_km,
               null as p_value
        from tested where first_dt = dt
        union all
        select dt, problem_id, name, '{GROWTH}', n_cases, rate_per_10k_km, before_rate_per_10k_km, p_value
        from tested where first_dt < dt and rate_per_10k_km > before_rate_per_10k_km and p_value < {cfg.alpha}
        order by problem_id, kind""")
    con.execute("drop table _problem_day")
    con.execute("drop table _problem_exposure")
    return {t: row_count(con, t) for t in (TREND_TABLE, VERSION_TABLE, ALERT_TABLE)}
