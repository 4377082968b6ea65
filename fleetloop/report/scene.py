"""The report's scene page: tag exposure by site and version, event rates per scene with their exact Poisson
intervals (``ads.ads_scene_rate``), and example clips of the scenes in bird's-eye view (``dwd.dwd_scene_example``:
the ego's path over the site's lane map, the clip's matching seconds highlighted and marked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import altair as alt
import duckdb
import pandas as pd

from fleetloop.mining.tags import FAMILIES
from fleetloop.report.charts import (
    NICE,
    ROW_PX,
    WIDTH_PX,
    TimeWindow,
    bars,
    clock,
)
from fleetloop.report.page import plain, section, table
from fleetloop.report.path_card import PathCard, render, speed_range_mps
from fleetloop.report.query import has_table, rows
from fleetloop.report.vega import NUMBER, figure

SCENE_METRICS = ("mps", "interaction")  # the rates shown per scene (the table has every event family)
TOP_TAGS_PER_FAMILY = 3
MIN_CHART_KM = 1.0  # a rate over less exposure is listed, not charted (its interval would span the axis)
CLIP_CARDS = 3
KIND_COLORS = {"scene": "#2563eb", "all seconds": "#0f172a"}  # rates per scene: conditioned, unconditioned
LABEL_LIMIT_PX = 320  # "scene · site · version" labels are long

EXPOSURE_SQL = """
select distinct scene, scene_kind, tag_family, site_id, version, n_days, exposure_s, exposure_h, exposure_km
from ads.ads_scene_rate
"""
RATES_SQL = """
select scene, scene_kind, definition, site_id, version, metric, exposure_h, exposure_km, event_count,
       rate_per_10k_km, ci_low, ci_high
from ads.ads_scene_rate
where scene_kind != 'tag' and metric in (select unnest(?::varchar[]))
order by metric, scene_kind = 'scene', scene, site_id, version
"""
EXAMPLES_SQL = """
select e.*, d.query, c.length_m, c.width_m
from dwd.dwd_scene_example as e
left join ref.scene_definitions as d using (scene)
left join ref.vehicle_classes as c using (vehicle_class)
where e.clip_rank = 1
order by e.matched_s desc, e.scene
limit ?
"""


def _ci(lo: float | None, hi: float | None) -> str:
    return f"95% CI [{plain(lo)}, {plain(hi)}]" if lo is not None and hi is not None else "no interval"


def top_tags(exposure: Sequence[dict]) -> list[dict]:
    """Per tag family (in ``FAMILIES`` order) its ``TOP_TAGS_PER_FAMILY`` tags with most hours over every site and
    version: family, tag, hours, km and the share of all driven hours."""
    total_h = sum(r["exposure_h"] for r in exposure if r["scene_kind"] == "all")
    frame = pd.DataFrame([r for r in exposure if r["scene_kind"] == "tag"])
    if frame.empty:
        return []
    sums = frame.groupby(["tag_family", "scene"], as_index=False)[["exposure_h", "exposure_km"]].sum()
    out = []
    for family in FAMILIES:
        top = sums[sums["tag_family"] == family].sort_values(["exposure_h", "scene"], ascending=[False, True])
        out += [{"family": family, "tag": r.scene, "hours": float(r.exposure_h), "km": float(r.exposure_km),
                 "share": float(r.exposure_h) / total_h if total_h else None}
                for r in top.head(TOP_TAGS_PER_FAMILY).itertuples()]
    return out


def exposure_section(con: duckdb.DuckDBPyConnection) -> str:
    exposure = rows(con, EXPOSURE_SQL)
    tops = top_tags(exposure)
    chart = bars([(f"{t['family']}: {t['tag']}", t["hours"],
                   f"{t['tag']} ({t['family']}): {plain(t['hours'])} h, {plain(t['km'])} km, "
                   f"{plain(100 * t['share'])}% of driven hours") for t in tops],
                 f"hours per tag, top {TOP_TAGS_PER_FAMILY} per family", "hours")
    by_tag = {(r["site_id"], r["version"], r["tag_family"]): r for r in sorted(
        (r for r in exposure if r["scene_kind"] == "tag"), key=lambda r: (r["exposure_h"], r["scene"]))}
    sites = sorted((r for r in exposure if r["scene_kind"] == "all"), key=lambda r: (r["site_id"], r["version"]))
    tab = table(["site", "version", "days", "hours", "km", *(f"top {f}" for f in FAMILIES)],
                [(r["site_id"], r["version"], r["n_days"], r["exposure_h"], r["exposure_km"],
                  *(_top(by_tag.get((r["site_id"], r["version"], f))) for f in FAMILIES)) for r in sites])
    return section("Scene exposure by site and version",
                   "Hours and km of the tag store (every driven second with a perception summary) per site and "
                   "software version, and per tag family the tag that holds longest there; the chart sums every "
                   "site and version.", figure(chart), tab)


def _top(r: dict | None) -> str:
    return f"{r['scene']} {plain(r['exposure_h'])} h" if r else "-"


def rate_intervals(points: Sequence[dict], title: str, unit: str) -> alt.LayerChart:
    """Rates with their exact intervals, one row each (``label, rate, lo, hi, kind, tip``), coloured by kind."""
    frame = pd.DataFrame(points)
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=LABEL_LIMIT_PX)),
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=list(KIND_COLORS),
                                                              range=list(KIND_COLORS.values()))),
    )
    x = alt.X("lo:Q", axis=alt.Axis(format=NUMBER, title=unit, tickCount=5), scale=NICE)
    rules = base.mark_rule(strokeWidth=2, aria=False).encode(x=x, x2="hi:Q")
    dots = base.mark_point(filled=True, size=70, opacity=1).encode(x="rate:Q", description="tip:N", tooltip="tip:N")
    return alt.layer(rules, dots).properties(width=WIDTH_PX, height=ROW_PX * len(points))


def rates_section(con: duckdb.DuckDBPyConnection) -> str:
    found = rows(con, RATES_SQL, [list(SCENE_METRICS)])
    charts = []
    for metric in SCENE_METRICS:
        points = [{"label": f"{r['scene']} · {r['site_id']} · {r['version']}", "rate": r["rate_per_10k_km"],
                   "lo": r["ci_low"], "hi": r["ci_high"],
                   "kind": "scene" if r["scene_kind"] == "scene" else "all seconds",
                   "tip": f"{r['scene']} at {r['site_id']}, {r['version']}: {metric} {plain(r['rate_per_10k_km'])} "
                          f"per 10k km, {_ci(r['ci_low'], r['ci_high'])}, n = {plain(r['event_count'])} in "
                          f"{plain(r['exposure_km'])} km"}
                  for r in found if r["metric"] == metric and r["exposure_km"] >= MIN_CHART_KM]
        if points:
            charts.append(figure(rate_intervals(points, f"{metric} per 10k km", "per 10k km")))
    tab = table(["scene", "definition", "site", "version", "metric", "hours", "km", "events", "rate /10k km",
                 "95% CI"],
                [(r["scene"], r["definition"], r["site_id"], r["version"], r["metric"], r["exposure_h"],
                  r["exposure_km"], r["event_count"], r["rate_per_10k_km"], _ci(r["ci_low"], r["ci_high"]))
                 for r in found])
    return section("Rates per scene",
                   f"Events starting in the seconds of each scene of seed scene_definitions per 10,000 km of the "
                   f"scene, all published days, with the exact Poisson 95% interval; all_seconds is the "
                   f"unconditioned rate. The chart leaves out exposures under {plain(MIN_CHART_KM)} km; every tag's "
                   f"rates are in ads.ads_scene_rate.", *charts, tab)


def clip_card(con: duckdb.DuckDBPyConnection, clip: dict) -> str:
    """One example clip as a card (``fleetloop.report.path_card``): its matching seconds highlighted."""
    first, last = clip["clip_start"], clip["clip_end"]
    until = last + dt.timedelta(seconds=1)  # the end of the last matching second
    low, high = speed_range_mps(clip["path"], first, until)
    story = (f"Vehicle {clip['vehicle_id']} ({clip['vehicle_class']}, {clip['site_id']}, {clip['version']}) drove "
             f"{clip['matched_s']} s in {clip['scene']} ({clip['query']}) from {clock(first)} to {clock(last)} UTC "
             f"on {first.astimezone(dt.UTC):%Y-%m-%d}, at {low:.1f} to {high:.1f} m/s.")
    return render(con, PathCard(
        title=clip["scene"], story=story, site_id=clip["site_id"], path=clip["path"],
        window=TimeWindow(first, last, f"{clip['scene']} {clock(first)} to {clock(last)} UTC"), until=until,
        highlight=f"{clip['matched_s']} matching seconds",
        box_m=(clip["length_m"], clip["width_m"]) if clip["length_m"] else None,
        footer=f"route {clip['route_id']}; mined again with: fleetloop mine {clip['query']!r}"))


def clips_section(con: duckdb.DuckDBPyConnection) -> str:
    found = rows(con, EXAMPLES_SQL, [CLIP_CARDS])
    cards = [clip_card(con, c) for c in found]
    return section("Example clips", "The longest clip of the scenes with most matching seconds (at most one per "
                   "scene). Bird's-eye view: lanes in grey, the ego's logged path (black, its box at the first "
                   "sample), the matching seconds in blue; red rules mark the first and last matching second, grey "
                   "rules every 2 s of UTC clock time.",
                   *(cards or ["<p>No scene holds on the published days.</p>"]))


def scene_page(con: duckdb.DuckDBPyConnection) -> str:
    """The scene sections of the report, or one section saying the tag store is not there."""
    if not has_table(con, "ads", "ads_scene_rate") or not rows(con, "select 1 from ads.ads_scene_rate limit 1"):
        return section("Scenes", "The tag store was not built on the published days: no scene rates.")
    return exposure_section(con) + rates_section(con) + clips_section(con)
