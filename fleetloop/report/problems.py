"""The report's problems page: the recurring problem scenarios ranked by their curriculum stage, their daily
rates per 10,000 km of their defining scene with exact intervals, the version changes, alerts, example cases and
the curriculum table (``fleetloop.curriculum``, docs/curriculum.md)."""

from __future__ import annotations

import datetime as dt

import duckdb

from fleetloop.curriculum.config import (
    ALERT_TABLE,
    ALL_VERSIONS,
    CASE_FEATURE_TABLE,
    CURRICULUM_TABLE,
    EXAMPLE_TABLE,
    PROBLEM_CASE_TABLE,
    PROBLEM_TABLE,
    TREND_TABLE,
    VERSION_TABLE,
)
from fleetloop.report.charts import RateSeries, TimeWindow, clock, forest, rate_trend
from fleetloop.report.page import plain, section, table
from fleetloop.report.path_card import PathCard, render, speed_range_mps
from fleetloop.report.query import has_table, rows
from fleetloop.report.vega import figure

CHARTED_PROBLEMS = 4  # problems with a trend chart and a version forest: the first stages
EXAMPLE_CASES = 3  # example cases per charted problem in the table
DRAWN_EXAMPLES = 1  # of which drawn, per charted problem
RATE = RateSeries("cases", "n_cases", "rate_per_10k_km", "ci_low", "ci_high")


def _ranked(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return rows(con, f"""
        select p.*, c.stage, c.value, c.target_samples, c.weight, c.shortfall
        from {PROBLEM_TABLE} as p left join {CURRICULUM_TABLE} as c using (problem_id)
        where p.status = 'active'
        order by c.stage nulls last, p.n_cases desc, p.problem_id""")


def _trend_chart(con: duckdb.DuckDBPyConnection, problem: dict) -> str:
    days = rows(con, f"""select period_start as dt, n_cases, exposure_km as km_total, rate_per_10k_km, ci_low,
        ci_high from {TREND_TABLE} where problem_id = ? and grain = 'day' and version = ? order by dt""",
                [problem["problem_id"], ALL_VERSIONS])
    title = f"P{problem['problem_id']} {problem['name']}"
    return figure(rate_trend(days, (RATE,), title, "per 10k km of its scene"))


def _version_chart(con: duckdb.DuckDBPyConnection, charted: list[dict]) -> str | None:
    found = rows(con, f"select * from {VERSION_TABLE} where list_contains(?, problem_id) and rate_per_10k_km is "
                      "not null order by problem_id, version", [[p["problem_id"] for p in charted]])
    sel = [{"label": f"P{r['problem_id']} {r['version']}" + (" (base)" if r["is_baseline"] else ""),
            "rate": r["rate_per_10k_km"], "lo": r["ci_low"], "hi": r["ci_high"],
            "significant": bool(r["is_significant"]),
            "tip": f"P{r['problem_id']} {r['version']}: {plain(r['rate_per_10k_km'])} per 10k km, n = "
                   f"{plain(r['n_cases'])} in {plain(r['exposure_km'])} km, p = {plain(r['p_value'])}"} for r in found]
    return figure(forest(sel, "rate by version", "per 10k km of its scene")) if sel else None


def _examples(con: duckdb.DuckDBPyConnection, charted: list[dict]) -> str:
    found = rows(con, f"""
        select p.problem_id, f.case_id, f.vehicle_id, f.site_id, f.version, f.ts_start, f.trigger_labels, f.light,
               f.weather, f.scorer_status
        from {PROBLEM_CASE_TABLE} as p inner join {CASE_FEATURE_TABLE} as f using (case_id)
        where list_contains(?, p.problem_id)
        qualify row_number() over (partition by p.problem_id order by p.membership desc, f.case_id) <= ?
        order by p.problem_id, p.membership desc, f.case_id""", [[p["problem_id"] for p in charted], EXAMPLE_CASES])
    return table(["problem", "case", "vehicle", "site", "version", "start (UTC)", "triggers", "light", "weather",
                  "scorer"], [tuple(r.values()) for r in found])


def _drawn(con: duckdb.DuckDBPyConnection, charted: list[dict]) -> list[str]:
    """The first example case of each charted problem in bird's-eye view (``ads.ads_problem_example``)."""
    if not has_table(con, "ads", EXAMPLE_TABLE.split(".")[1]):
        return []
    names = {p["problem_id"]: p["name"] for p in charted}
    found = rows(con, f"""
        select e.*, c.length_m, c.width_m from {EXAMPLE_TABLE} as e
        left join ref.vehicle_classes as c using (vehicle_class)
        where list_contains(?, e.problem_id) and e.example_rank <= ? order by e.problem_id, e.example_rank""",
                 [list(names), DRAWN_EXAMPLES])
    cards = []
    for e in found:
        first, last = e["ts_start"], e["ts_end"]
        low, high = speed_range_mps(e["path"], first, last)
        triggers = ", ".join(e["trigger_labels"])
        story = (f"Vehicle {e['vehicle_id']} ({e['vehicle_class']}, {e['site_id']}, {e['version']}): {triggers} "
                 f"from {clock(first)} to {clock(last)} UTC on {first.astimezone(dt.UTC):%Y-%m-%d}, at {low:.1f} "
                 f"to {high:.1f} m/s; its problem: P{e['problem_id']} {names[e['problem_id']]}.")
        cards.append(render(con, PathCard(
            title=f"P{e['problem_id']} example: {e['case_id']}", story=story, site_id=e["site_id"], path=e["path"],
            window=TimeWindow(first, last, f"{triggers} {clock(first)} to {clock(last)} UTC"), until=last,
            highlight="the case window", box_m=(e["length_m"], e["width_m"]) if e["length_m"] else None,
            footer=f"case {e['case_id']}")))
    return cards


def problems(con: duckdb.DuckDBPyConnection) -> str:
    """The problems and curriculum sections (a short note when the curriculum was not built)."""
    if not has_table(con, "ads", PROBLEM_TABLE.split(".")[1]):
        return section("Problem scenarios", "The problems have not been built on the published days.")
    ranked = _ranked(con)
    charted = [p for p in ranked if p["stage"] is not None][:CHARTED_PROBLEMS]
    unclustered = con.execute(f"select count(*) filter (where problem_id is null), count(*) from "
                              f"{PROBLEM_CASE_TABLE}").fetchall()[0]
    alerts = rows(con, f"select dt, problem_id, name, kind, n_cases, rate_per_10k_km, before_rate_per_10k_km, "
                       f"p_value from {ALERT_TABLE} order by problem_id, kind")
    note = (f"Cases grouped into recurring problems (HDBSCAN over triggers, tag shares, site and class); "
            f"{unclustered[0]:,} of {unclustered[1]:,} cases fit no problem and stay unclustered. Rates are cases "
            "per 10,000 km of the problem's defining scene with exact 95% intervals; versions against the "
            "baseline with the exact conditional test (red: significant change).")
    charts = [_trend_chart(con, p) for p in charted]
    versions = _version_chart(con, charted)
    ranked_table = table(["stage", "problem", "name", "cases", "vehicles", "sites", "versions", "first day",
                          "last day", "scored", "improved"],
                         [(p["stage"], p["problem_id"], p["name"], p["n_cases"], p["n_vehicles"], p["sites"],
                           p["versions"], p["first_dt"], p["last_dt"], p["n_scored"], p["n_improved"])
                          for p in ranked])
    parts = [*charts, *([versions] if versions else []), ranked_table, _examples(con, charted), *_drawn(con, charted)]
    if alerts:
        parts.append(table(["day", "problem", "name", "alert", "cases", "rate /10k km", "before", "p"],
                           [tuple(r.values()) for r in alerts]))
    stages = rows(con, f"""select stage, problem_id, name, n_cases, n_failures, mean_severity, fix_rate, value,
        target_samples,
        weight, n_packages, n_mined_clips, shortfall from {CURRICULUM_TABLE} order by stage""") \
        if has_table(con, "ads", CURRICULUM_TABLE.split(".")[1]) else []
    curriculum = section("Curriculum", "Stages by value (failure cases x mean severity x fix rate), target samples and "
                         "weights; packaged solutions and clips from active mining fill the target, the rest is "
                         "the shortfall.",
                         table(["stage", "problem", "name", "cases", "failures", "severity", "fix rate", "value",
                                "target", "weight", "packages", "mined clips", "shortfall"],
                               [tuple(r.values()) for r in stages]))
    return section("Problem scenarios", note, *parts) + curriculum

