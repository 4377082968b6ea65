"""The one-page overview printed at the end of a run, read from the published warehouse."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

import duckdb

from fleetloop.publish import connect_published
from fleetloop.report.page import plain
from fleetloop.report.query import has_table, rows


def text_table(columns: Sequence[str], rows: Sequence[Sequence[object]], width: int | None = None) -> str:
    """Rows as aligned text, dropping trailing columns that do not fit ``width``."""
    width = width or max(100, shutil.get_terminal_size((120, 40)).columns)
    cells = [[plain(v) for v in r] for r in rows]
    widths = [min(30, max([len(c)] + [len(r[i]) for r in cells])) for i, c in enumerate(columns)]
    keep, used = 0, 0
    for w in widths:
        if used + w + 2 > width and keep:
            break
        used, keep = used + w + 2, keep + 1

    def fmt(vals: Sequence[str]) -> str:
        return "  ".join(v[:w].ljust(w) for v, w in zip(vals[:keep], widths[:keep], strict=True)).rstrip()

    return "\n".join([fmt(list(columns)), fmt(["-" * w for w in widths]), *(fmt(r) for r in cells)])


def _rate(d: dict, count: str, rate: str, ci: str) -> str:
    """A day's rate with its interval (columns ``<ci>_low``, ``<ci>_high``) and count."""
    n = plain(d[count])
    if d[rate] is None:
        return f"- (n={n})"
    return f"{plain(d[rate])} [{plain(d[ci + '_low'])}, {plain(d[ci + '_high'])}] n={n}"


def fleet_section(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """The fleet's daily KPIs transposed: one row per metric, one column per day."""
    days = rows(con, "select * from ads.ads_fleet_overview_1d order by dt")
    metrics = [
        ("vehicles", lambda d: d["n_vehicles"]),
        ("km total / auto", lambda d: f"{d['km_total']:,.1f} / {d['km_auto']:,.1f}"),
        ("autonomy rate time / km", lambda d: f"{d['autonomy_rate_time']:.1%} / {d['autonomy_rate_km']:.1%}"),
        ("MPS per 10k km [95% CI]", lambda d: _rate(d, "n_mps", "mps_per_10k_km", "mps_ci")),
        ("MPD_all per 10k km", lambda d: _rate(d, "n_mpd_all", "mpd_all_per_10k_km", "mpd_all_ci")),
        ("MPD_resp per 10k km", lambda d: _rate(d, "n_mpd_resp", "mpd_resp_per_10k_km", "mpd_resp_ci")),
        ("MPI km per takeover", lambda d: _rate(d, "n_takeover", "mpi_km", "mpi_ci")),
        ("hard brakes / stuck / offline", lambda d: f"{d['n_hard_brake']} / {d['n_stuck']} / {d['n_offline']}"),
        ("cases (raw upload)", lambda d: f"{d['n_cases']} ({d['n_cases_raw_upload']})"),
    ]
    return ["metric", *(str(d["dt"]) for d in days)], [(name, *(plain(f(d)) for d in days)) for name, f in metrics]


SECTIONS = (
    ("Sites, latest day", "ads_site_health_1d",
     """select site_id, city, n_vehicles as veh, round(km_total, 1) as km, round(autonomy_rate_time, 3) as auto_rate,
               round(stuck_minutes, 1) as stuck_min, n_offline_alerts as offline, n_site_anomalies as anomalies,
               n_mps, round(mps_per_10k_km, 1) as mps, n_takeover
        from ads.ads_site_health_1d where dt = (select max(dt) from ads.ads_site_health_1d) order by site_id"""),
    ("Software versions (MPS per 10k km, exact Poisson 95% CI)", "ads_version_compare",
     """select version, is_baseline as baseline, round(exposure_km, 1) as km, event_count as n,
               round(rate_per_10k_km, 1) as rate, round(ci_low, 1) as lo, round(ci_high, 1) as hi,
               round(rate_ratio, 2) as ratio, round(p_value, 3) as p, is_significant as significant
        from ads.ads_version_compare where metric = 'mps' order by version"""),
    ("Case queue, latest day (top 10)", "ads_case_queue",
     """select queue_rank as rank, case_id, vehicle_id, site_id, triggers, severity, round(priority, 2) as priority,
               action
        from ads.ads_case_queue where dt = (select max(dt) from ads.ads_case_queue) order by queue_rank limit 10"""),
    ("Counterfactual scorer", "solutions",
     """select dt, count(*) as scored, count(*) filter (where status = 'improved') as improved,
               count(*) filter (where status = 'log_best') as log_best,
               count(*) filter (where status = 'error') as errors,
               round(avg(delta_pdms) filter (where status = 'improved'), 3) as mean_delta_pdms,
               sum(package_bytes) as package_bytes
        from scorer.solutions group by dt order by dt"""),
)


def overview_text(published) -> str:
    """The overview of the published warehouse, as printed by ``fleetloop demo`` and ``fleetloop run``."""
    con = connect_published(published)
    try:
        run_id, at, days = con.execute("select run_id, published_at, days from meta.publication").fetchone()
        lines = [f"fleetloop overview  {published}",
                 f"published {at:%Y-%m-%d %H:%M:%S %Z} by run {run_id[:8]}; days {', '.join(map(str, days))}"]
        if has_table(con, "ads", "ads_fleet_overview_1d"):
            lines += ["", "== Fleet ==", text_table(*fleet_section(con))]
        for title, table, sql in SECTIONS:
            if has_table(con, "scorer" if table == "solutions" else "ads", table):
                cur = con.execute(sql)
                lines += ["", f"== {title} ==", text_table([d[0] for d in cur.description], cur.fetchall())]
    finally:
        con.close()
    return "\n".join(lines)
