"""``write_report``: the HTML report of the published warehouse (self-contained, inline SVG)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from fleetloop.publish import connect_published
from fleetloop.report.cases import case_figure, top_improved_cases
from fleetloop.report.page import card, page, section, table
from fleetloop.report.svg import Point, bar_chart, forest_plot, line_chart

RATES = (  # (title, y label, [(series name, count, rate, lo, hi)])
    ("MPS: stupid events per 10k km", "per 10k km", [("MPS", "n_mps", "mps_per_10k_km", "mps_ci_low", "mps_ci_high")]),
    ("MPD: dangerous events per 10k km", "per 10k km", [
        ("MPD_all", "n_mpd_all", "mpd_all_per_10k_km", "mpd_all_ci_low", "mpd_all_ci_high"),
        ("MPD_resp", "n_mpd_resp", "mpd_resp_per_10k_km", "mpd_resp_ci_low", "mpd_resp_ci_high")]),
    ("MPI: km per takeover", "km", [("MPI", "n_takeover", "mpi_km", "mpi_ci_low", "mpi_ci_high")]),
)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def _fmt_rate(v: float | None, lo: float | None, hi: float | None) -> str:
    if v is None:
        return "n/a"
    text = f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return text + (f"  [{lo:.3g}, {hi:.3g}]" if lo is not None and hi is not None else "")


def kpi_cards(fleet: list[dict], scorer: list[dict]) -> str:
    d = fleet[-1]
    cards = [
        card("km driven", f"{d['km_total']:,.0f}", f"{d['dt']}, {d['n_vehicles']} vehicles"),
        card("autonomy rate (time)", f"{d['autonomy_rate_time']:.1%}", f"by km {d['autonomy_rate_km']:.1%}"),
        card("MPS / 10k km", _fmt_rate(d["mps_per_10k_km"], None, None), f"n={d['n_mps']}  95% CI "
             f"[{d['mps_ci_low']:.3g}, {d['mps_ci_high']:.3g}]" if d["mps_ci_low"] is not None else f"n={d['n_mps']}"),
        card("MPD_all / 10k km", _fmt_rate(d["mpd_all_per_10k_km"], None, None), f"n={d['n_mpd_all']}, ours {d['n_mpd_resp']}"),
        card("MPI km / takeover", _fmt_rate(d["mpi_km"], None, None), f"{d['n_takeover']} takeovers"),
        card("cases", f"{d['n_cases']}", f"{d['n_cases_raw_upload']} to raw upload"),
    ]
    if scorer:
        s = scorer[-1]
        cards.append(card("counterfactual improvements", f"{s['improved']} / {s['scored']}", f"{s['dt']}: cases scored"))
    return '<div class="cards">' + "".join(cards) + "</div>"


def trends(fleet: list[dict]) -> str:
    charts = []
    for title, y_label, series in RATES:
        charts.append(line_chart(
            {name: [Point(str(d["dt"]), d[rate], d[lo], d[hi]) for d in fleet] for name, _, rate, lo, hi in series},
            title, y_label))
    return section("Trends with exact Poisson 95% intervals", "Each point is one day of the whole fleet; the "
                   "band and whiskers are the exact 95% interval given the event count and exposure km.", *charts)


def autonomy(con: duckdb.DuckDBPyConnection) -> str:
    sites = _rows(con, """select site_id, sum(auto_h_est) / nullif(sum(operating_h), 0) as rate from (
        select site_id, operating_h, autonomy_rate_time * operating_h as auto_h_est from ads.ads_site_health_1d)
        group by site_id order by site_id""")
    roads = _rows(con, """select road_type, sum(auto_h) / nullif(sum(operating_h), 0) as rate, sum(km_total) as km
        from ads.ads_road_type_1d group by road_type order by km desc""") if _has(con, "ads", "ads_road_type_1d") else []
    return section(
        "Autonomy rate", "Auto time over operating time, all published days.",
        bar_chart([(r["site_id"], r["rate"] or 0.0, "site") for r in sites], "by site", vmax=1.0),
        bar_chart([(f"{r['road_type']} ({r['km']:,.0f} km)", r["rate"] or 0.0, "road") for r in roads],
                  "by road type", vmax=1.0),
    )


def versions(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(con, "select * from ads.ads_version_compare order by metric, version")
    plots = []
    for metric in ("mps", "mpd_all", "takeover"):
        sel = [r for r in rows if r["metric"] == metric and r["rate_per_10k_km"] is not None]
        plots.append(forest_plot(
            [(f"{r['version']}{' (base)' if r['is_baseline'] else ''}", r["rate_per_10k_km"], r["ci_low"] or 0.0,
              r["ci_high"] or r["rate_per_10k_km"], bool(r["is_significant"])) for r in sel],
            f"{metric} per 10k km by version (red: significant change)"))
    tab = table(["metric", "version", "km", "events", "rate /10k km", "95% CI", "rate ratio", "p", "significant"],
                [(r["metric"], r["version"], r["exposure_km"], r["event_count"], r["rate_per_10k_km"],
                  f"{r['ci_low']:.3g} - {r['ci_high']:.3g}" if r["ci_low"] is not None else None,
                  r["rate_ratio"], r["p_value"], r["is_significant"]) for r in rows])
    return section("Software versions", "Rates per version over all published days against the baseline; "
                   "exact conditional test on the event counts given exposure.", *plots, tab)


def site_health(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(con, "select * from ads.ads_site_health_1d where dt = (select max(dt) from ads.ads_site_health_1d) "
                      "order by site_id")
    stuck = bar_chart([(r["site_id"], r["stuck_minutes"] or 0.0, "stuck") for r in rows],
                      "stuck minutes (latest day)", fmt="{:.1f} min")
    tab = table(["site", "city", "vehicles", "km", "autonomy", "stuck min", "problem stucks", "offline alerts",
                 "site anomalies", "MPS /10k km", "MPI km"],
                [(r["site_id"], r["city"], r["n_vehicles"], r["km_total"], f"{r['autonomy_rate_time']:.1%}",
                  r["stuck_minutes"], r["n_stuck_problem"], r["n_offline_alerts"], r["n_site_anomalies"],
                  r["mps_per_10k_km"], r["mpi_km"]) for r in rows])
    day = rows[0]["dt"] if rows else ""
    return section(f"Site health, {day}", "Stuck time, offline alerts and site-wide anomalies per site.", stuck, tab)


def cases(con: duckdb.DuckDBPyConnection) -> str:
    if not _has(con, "scorer", "solutions"):
        return section("Top cases", "The counterfactual scorer has not run on the published days.")
    top = top_improved_cases(con)
    queue = _rows(con, """select queue_rank, case_id, vehicle_id, site_id, triggers, severity, priority, action
        from ads.ads_case_queue where dt = (select max(dt) from ads.ads_case_queue) order by queue_rank limit 10""")
    note = ("The most improved cases of the nightly counterfactual replay, over the replay horizon: lanes in grey, "
            "agents along their logged tracks with their box at their first sample, the logged ego path and the "
            "counterfactual solution; the red dot marks where the solution departs from the log.")
    figures = [case_figure(r) for r in top] or ["<p>No case was improved: the logged behaviour was best.</p>"]
    return section("Top cases", note, *figures,
                   table(["rank", "case", "vehicle", "site", "triggers", "severity", "priority", "action"],
                         [tuple(r.values()) for r in queue]))


def data_quality(con: duckdb.DuckDBPyConnection) -> str:
    recon = _rows(con, """select dt, sum(rows_read) as read, sum(rows_loaded) as loaded,
        sum(rows_quarantined) as quarantined, sum(rows_duplicate) as duplicates, sum(rows_unaccounted) as unaccounted
        from ods.ods_reconciliation group by dt order by dt""")
    reasons = _rows(con, """select reason_code, source, count(*) as n from ods.ods_quarantine
        group by all order by n desc limit 15""")
    return section("Data quality", "Every raw row is loaded, quarantined with its reason, or counted as a duplicate; "
                   "gates block publication when a day does not reconcile.",
                   table(["day", "read", "loaded", "quarantined", "duplicates", "unaccounted"],
                         [tuple(r.values()) for r in recon]),
                   table(["reason", "source", "rows"], [tuple(r.values()) for r in reasons]))


def build_report(con: duckdb.DuckDBPyConnection) -> str:
    run_id, at, days = con.execute("select run_id, published_at, days from meta.publication").fetchone()
    fleet = _rows(con, "select * from ads.ads_fleet_overview_1d order by dt")
    if not fleet:
        raise ValueError("the published warehouse has no ads.ads_fleet_overview_1d rows: nothing to report")
    scorer = _rows(con, """select dt, count(*) as scored, count(*) filter (where status = 'improved') as improved
        from scorer.solutions group by dt order by dt""") if _has(con, "scorer", "solutions") else []
    body = [kpi_cards(fleet, scorer), trends(fleet), autonomy(con), versions(con), site_health(con), cases(con),
            data_quality(con)]
    subtitle = (f"days {', '.join(map(str, days))} · published {at:%Y-%m-%d %H:%M} UTC by run {run_id[:8]} · "
                f"generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
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
