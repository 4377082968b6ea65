"""``write_report``: the HTML report of the published warehouse, one self-contained page (inline CSS and SVG,
no script, no network), its charts drawn by Altair and rendered by vl-convert."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import altair as alt
import duckdb

from fleetloop.publish import connect_published
from fleetloop.report.cases import case_card, top_improved_cases
from fleetloop.report.charts import RateSeries, bars, forest, rate_trend, share_dots
from fleetloop.report.page import card, page, plain, section, table
from fleetloop.report.problems import problems
from fleetloop.report.query import has_table, rows
from fleetloop.report.scene import scene_page
from fleetloop.report.vega import figure
from fleetloop.settings import Settings

REPORT_FILE = "fleetloop_report.html"
RATES = (  # (title, unit, series) over ads_fleet_overview_1d
    ("MPS: stupid events per 10k km", "per 10k km", (RateSeries("MPS", "n_mps", "mps_per_10k_km", "mps_ci_low",
                                                                "mps_ci_high"),)),
    ("MPD: dangerous events per 10k km", "per 10k km", (
        RateSeries("MPD_all", "n_mpd_all", "mpd_all_per_10k_km", "mpd_all_ci_low", "mpd_all_ci_high"),
        RateSeries("MPD_resp", "n_mpd_resp", "mpd_resp_per_10k_km", "mpd_resp_ci_low", "mpd_resp_ci_high"))),
    ("MPI: km per takeover", "km", (RateSeries("MPI", "n_takeover", "mpi_km", "mpi_ci_low", "mpi_ci_high"),)),
)
VERSION_METRICS = ("mps", "mpd_all", "takeover")
CASE_CARDS = 4
QUEUE_ROWS = 10
QUARANTINE_ROWS = 15


def report_path(settings: Settings) -> Path:
    """Where the report of an installation is written."""
    return settings.reports / REPORT_FILE


def _ci(lo: float | None, hi: float | None) -> str:
    return f"95% CI [{plain(lo)}, {plain(hi)}]" if lo is not None and hi is not None else "no interval"


def kpi_cards(fleet: list[dict], scorer: list[dict]) -> str:
    d = fleet[-1]
    cards = [
        card("km driven", plain(d["km_total"]), f"{d['dt']}, {d['n_vehicles']} vehicles"),
        card("autonomy rate (time)", f"{d['autonomy_rate_time']:.1%}", f"by km {d['autonomy_rate_km']:.1%}"),
        card("MPS per 10k km", plain(d["mps_per_10k_km"]),
             f"n = {plain(d['n_mps'])}, {_ci(d['mps_ci_low'], d['mps_ci_high'])}"),
        card("MPD_all per 10k km", plain(d["mpd_all_per_10k_km"]),
             f"n = {plain(d['n_mpd_all'])}, ours {plain(d['n_mpd_resp'])}"),
        card("MPI km per takeover", plain(d["mpi_km"]), f"{plain(d['n_takeover'])} takeovers"),
        card("cases", plain(d["n_cases"]), f"{plain(d['n_cases_raw_upload'])} to raw upload"),
    ]
    if scorer:
        s = scorer[-1]
        cards.append(card("counterfactual improvements", f"{plain(s['improved'])} / {plain(s['scored'])}",
                          f"{s['dt']}: cases scored"))
    return '<div class="cards">' + "".join(cards) + "</div>"


def trends(fleet: list[dict]) -> str:
    return section("Trends with exact Poisson 95% intervals",
                   "One point per day for the whole fleet; the error bar is the exact 95% interval given the event "
                   "count and the exposure km.",
                   *(figure(rate_trend(fleet, series, title, unit)) for title, unit, series in RATES))


def autonomy(con: duckdb.DuckDBPyConnection) -> str:
    sites = rows(con, """select site_id, sum(autonomy_rate_time * operating_h) / sum(operating_h) as rate,
        sum(operating_h) as hours, count(*) as days from ads.ads_site_health_1d
        where operating_h > 0 group by site_id order by site_id""")
    roads = rows(con, """select road_type, sum(auto_h) / sum(operating_h) as rate, sum(operating_h) as hours,
        sum(km_total) as km from ads.ads_road_type_1d where operating_h > 0 group by road_type order by km desc""")
    parts = [figure(share_dots([(r["site_id"], r["rate"], f"{r['site_id']}: {r['rate']:.1%} of {plain(r['hours'])} "
                                 f"operating h in auto, {r['days']} days") for r in sites],
                               "by site", "auto time / operating time"))]
    if roads:
        parts.append(figure(share_dots(
            [(r["road_type"], r["rate"], f"{r['road_type']}: {r['rate']:.1%} of {plain(r['hours'])} operating h in "
              f"auto, {plain(r['km'])} km") for r in roads], "by road type", "auto time / operating time")))
    return section("Autonomy rate", "Auto time over operating time, all published days; the axis is zoomed to "
                   "the data.", *parts)


def versions(con: duckdb.DuckDBPyConnection) -> str:
    found = rows(con, "select * from ads.ads_version_compare order by metric, version")
    plots = []
    for metric in VERSION_METRICS:
        sel = [{"label": r["version"] + (" (base)" if r["is_baseline"] else ""), "rate": r["rate_per_10k_km"],
                "lo": r["ci_low"], "hi": r["ci_high"], "significant": bool(r["is_significant"]),
                "tip": f"{r['version']} {metric}: {plain(r['rate_per_10k_km'])} per 10k km, "
                       f"{_ci(r['ci_low'], r['ci_high'])}, n = {plain(r['event_count'])} in "
                       f"{plain(r['exposure_km'])} km, p = {plain(r['p_value'])}"}
               for r in found if r["metric"] == metric and r["rate_per_10k_km"] is not None]
        if sel:
            plots.append(forest(sel, f"{metric} per 10k km", "per 10k km"))
    tab = table(["metric", "version", "km", "events", "rate /10k km", "95% CI", "rate ratio", "p", "significant"],
                [(r["metric"], r["version"], r["exposure_km"], r["event_count"], r["rate_per_10k_km"],
                  _ci(r["ci_low"], r["ci_high"]), r["rate_ratio"], r["p_value"], r["is_significant"]) for r in found])
    charts = [figure(alt.hconcat(*plots))] if plots else []
    return section("Software versions", "Rates per version over all published days against the baseline; "
                   "exact conditional test on the event counts given exposure (red: significant change).",
                   *charts, tab)


def site_health(con: duckdb.DuckDBPyConnection) -> str:
    found = rows(con, "select * from ads.ads_site_health_1d where dt = (select max(dt) from ads.ads_site_health_1d) "
                      "order by site_id")
    if not found:
        return section("Site health", "No site has a published day.")
    stuck = bars([(r["site_id"], r["stuck_minutes"] or 0.0, f"{r['site_id']}: {plain(r['stuck_minutes'])} stuck "
                   f"minutes, {plain(r['n_stuck_problem'])} problem stucks") for r in found],
                 "stuck minutes", "minutes")
    tab = table(["site", "city", "vehicles", "km", "autonomy", "stuck min", "problem stucks", "offline alerts",
                 "site anomalies", "MPS /10k km", "MPI km"],
                [(r["site_id"], r["city"], r["n_vehicles"], r["km_total"], f"{r['autonomy_rate_time']:.1%}",
                  r["stuck_minutes"], r["n_stuck_problem"], r["n_offline_alerts"], r["n_site_anomalies"],
                  r["mps_per_10k_km"], r["mpi_km"]) for r in found])
    return section(f"Site health, {found[0]['dt']}", "Stuck time, offline alerts and site-wide anomalies per site.",
                   figure(stuck), tab)


def cases(con: duckdb.DuckDBPyConnection) -> str:
    if not has_table(con, "scorer", "solutions"):
        return section("Top cases", "The counterfactual scorer has not run on the published days.")
    queue = rows(con, """select queue_rank, case_id, vehicle_id, site_id, triggers, severity, priority, action
        from ads.ads_case_queue where dt = (select max(dt) from ads.ads_case_queue) order by queue_rank limit ?""",
                 [QUEUE_ROWS])
    note = ("The most improved cases of the nightly counterfactual replay. Bird's-eye view: lanes in grey, agents "
            "along their logged tracks with their box at their first sample, the logged ego path (solid) and the "
            "counterfactual (dashed); red rules mark the trigger's start and end, grey rules every 2 s of UTC clock "
            "time on the logged path.")
    cards = [case_card(r) for r in top_improved_cases(con, CASE_CARDS)]
    return section("Top cases", note, *(cards or ["<p>No case was improved: the logged behaviour was best.</p>"]),
                   table(["rank", "case", "vehicle", "site", "triggers", "severity", "priority", "action"],
                         [tuple(r.values()) for r in queue]))


def data_quality(con: duckdb.DuckDBPyConnection) -> str:
    recon = rows(con, """select dt, sum(rows_read) as read, sum(rows_loaded) as loaded,
        sum(rows_quarantined) as quarantined, sum(rows_duplicate) as duplicates, sum(rows_unaccounted) as unaccounted
        from quality.reconciliation group by dt order by dt""")
    reasons = rows(con, """select reason_code, source, sum(rows_quarantined) as n from quality.quarantine_by_reason
        group by all order by n desc, reason_code, source limit ?""", [QUARANTINE_ROWS]) \
        if has_table(con, "quality", "quarantine_by_reason") else []
    return section("Data quality", "Every raw row is loaded, quarantined with its reason, or counted as a duplicate; "
                   "gates block publication when a day does not reconcile.",
                   table(["day", "read", "loaded", "quarantined", "duplicates", "unaccounted"],
                         [tuple(r.values()) for r in recon]),
                   table(["reason", "source", "rows"], [tuple(r.values()) for r in reasons]))


def build_report(con: duckdb.DuckDBPyConnection) -> str:
    """The report's page for the warehouse open on ``con`` (a published file: ``meta.publication`` and ADS)."""
    run_id, at, days = con.execute("select run_id, published_at, days from meta.publication").fetchone()
    fleet = rows(con, "select * from ads.ads_fleet_overview_1d order by dt")
    if not fleet:
        raise ValueError("the published warehouse has no ads.ads_fleet_overview_1d rows: nothing to report")
    scorer = rows(con, """select dt, count(*) as scored, count(*) filter (where status = 'improved') as improved
        from scorer.solutions group by dt order by dt""") if has_table(con, "scorer", "solutions") else []
    body = [kpi_cards(fleet, scorer), trends(fleet), autonomy(con), versions(con), scene_page(con),
            site_health(con), cases(con), problems(con), data_quality(con)]
    subtitle = (f"days {', '.join(map(str, days))} · published {at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC by run "
                f"{run_id[:8]} · generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    return page("fleetloop: fleet report", subtitle, body)


def write_report(published: Path, out: Path) -> Path:
    """Write the report of the published warehouse to ``out`` (atomically) and return its path."""
    con = connect_published(published)
    try:
        html = build_report(con)
    finally:
        con.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
