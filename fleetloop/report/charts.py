"""The report's charts as Altair specifications (rendered by ``fleetloop.report.vega``): daily rates with their
exact intervals as error bars, autonomy on a zoomed axis, per-version forest plots, bars, and a case's speed
over UTC clock time with the trigger's interval marked.

Every data mark carries a ``description`` (its tooltip text, formatted here so that the SVG shows exactly
what the warehouse holds); lines, rules and bands carry none.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd

from fleetloop.report.page import plain
from fleetloop.report.vega import CLOCK, NUMBER, SHARE

WIDTH_PX, HEIGHT_PX, ROW_PX = 380, 200, 22
EGO_COLORS = {"logged": "#0f172a", "counterfactual": "#16a34a"}  # the two ego trajectories, everywhere
TRIGGER_COLOR = "#dc2626"
SIGNIFICANT_COLORS = {"significant change": "#dc2626", "no significant change": "#2563eb"}
NICE = alt.Scale(zero=True, nice=True)  # rates and counts: from zero to a round end
ZOOM_STEP = 0.01  # a zoomed share axis ends on whole percent
ZOOM_PAD_SHARE = 0.1  # of the data's span, at least one step, either side
SPEED_TICK_S = 2  # the speed plot's clock ticks
SPEED_POINT_S = 1.0  # a tooltip point every second along each speed line


@dataclass(frozen=True)
class RateSeries:
    """One rate of ``ads_fleet_overview_1d``: its name and the columns of its count, rate and exact interval."""

    name: str
    count: str
    rate: str
    ci_low: str
    ci_high: str


def _interval(lo: float | None, hi: float | None) -> str:
    return f"95% CI [{plain(lo)}, {plain(hi)}]" if lo is not None and hi is not None else "no interval"


def rate_trend(days: Sequence[dict], series: Sequence[RateSeries], title: str, unit: str) -> alt.LayerChart:
    """One point per day and series with its exact 95% interval as an error bar."""
    rows = [{"day": str(d["dt"]), "series": s.name, "rate": d[s.rate], "lo": d[s.ci_low], "hi": d[s.ci_high],
             "tip": f"{d['dt']} {s.name}: {plain(d[s.rate])} {unit}, {_interval(d[s.ci_low], d[s.ci_high])}, "
                    f"n = {plain(d[s.count])} in {plain(d['km_total'])} km"}
            for d in days for s in series if d[s.rate] is not None]
    base = alt.Chart(pd.DataFrame(rows), title=title).encode(
        x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("series:N"),
        color=alt.Color("series:N", title=None),
    )
    y_axis = alt.Axis(format=NUMBER, title=unit)
    bars = base.mark_rule(strokeWidth=2, aria=False).encode(y=alt.Y("lo:Q", axis=y_axis, scale=NICE), y2="hi:Q")
    points = base.mark_point(filled=True, size=70, opacity=1).encode(y="rate:Q", description="tip:N", tooltip="tip:N")
    return alt.layer(bars, points).properties(width=WIDTH_PX, height=HEIGHT_PX)


def zoomed_domain(values: Sequence[float]) -> list[float]:
    """A share axis around the data (whole percent, padded), inside [0, 1]."""
    lo, hi = min(values), max(values)
    pad = max(ZOOM_STEP, ZOOM_PAD_SHARE * (hi - lo))
    return [max(0.0, math.floor((lo - pad) / ZOOM_STEP) * ZOOM_STEP),
            min(1.0, math.ceil((hi + pad) / ZOOM_STEP) * ZOOM_STEP)]


def share_dots(rows: Sequence[tuple[str, float, str]], title: str, axis_title: str) -> alt.LayerChart:
    """Shares as labelled dots on an axis zoomed to the data: ``(label, share, tooltip)`` per row."""
    frame = pd.DataFrame([{"label": label, "share": v, "text": f"{v:.1%}", "tip": tip} for label, v, tip in rows])
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y("label:N", title=None, sort=None),
        x=alt.X("share:Q", scale=alt.Scale(domain=zoomed_domain(frame["share"].tolist()), zero=False, nice=False),
                axis=alt.Axis(format=SHARE, title=axis_title, tickCount=5)),
    )
    dots = base.mark_point(filled=True, size=90, opacity=1, color="#2563eb").encode(description="tip:N",
                                                                                    tooltip="tip:N")
    labels = base.mark_text(align="left", dx=8, fontSize=11, aria=False).encode(text="text:N")
    return alt.layer(dots, labels).properties(width=WIDTH_PX, height=ROW_PX * len(rows))


def forest(rows: Sequence[dict], title: str, unit: str) -> alt.LayerChart:
    """Rates with exact intervals, one row each: ``label, rate, lo, hi, significant, tip``."""
    frame = pd.DataFrame([r | {"verdict": "significant change" if r["significant"] else "no significant change"}
                          for r in rows])
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y("label:N", title=None, sort=None),
        color=alt.Color("verdict:N", title=None, scale=alt.Scale(domain=list(SIGNIFICANT_COLORS),
                                                                 range=list(SIGNIFICANT_COLORS.values()))),
    )
    x = alt.X("lo:Q", axis=alt.Axis(format=NUMBER, title=unit, tickCount=5), scale=NICE)
    bars = base.mark_rule(strokeWidth=2, aria=False).encode(x=x, x2="hi:Q")
    points = base.mark_point(filled=True, size=70, opacity=1).encode(x="rate:Q", description="tip:N", tooltip="tip:N")
    return alt.layer(bars, points).properties(width=WIDTH_PX * 2 // 3, height=ROW_PX * len(rows))


def bars(rows: Sequence[tuple[str, float, str]], title: str, unit: str) -> alt.LayerChart:
    """Horizontal bars from zero with their value: ``(label, value, tooltip)`` per row."""
    frame = pd.DataFrame([{"label": label, "value": v, "text": plain(v), "tip": tip} for label, v, tip in rows])
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y("label:N", title=None, sort=None),
        x=alt.X("value:Q", axis=alt.Axis(format=NUMBER, title=unit)),
    )
    return alt.layer(
        base.mark_bar(color="#2563eb", cornerRadiusEnd=3).encode(description="tip:N", tooltip="tip:N"),
        base.mark_text(align="left", dx=4, fontSize=11, aria=False).encode(text="text:N"),
    ).properties(width=WIDTH_PX, height=ROW_PX * len(rows))


@dataclass(frozen=True)
class TimeWindow:
    """A labelled UTC interval (a trigger's firing)."""

    start: dt.datetime
    end: dt.datetime
    label: str


def clock(ts: dt.datetime, digits: int = 0) -> str:
    """``HH:MM:SS`` (with ``digits`` decimals of the second) in UTC."""
    ts = ts.astimezone(dt.UTC)
    text = ts.strftime(CLOCK)
    return text + f"{ts.microsecond / 1e6:.{digits}f}"[1:] if digits else text


def clock_ticks(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every even ``SPEED_TICK_S`` of UTC clock time in [start, end]."""
    first = math.ceil(start.timestamp() / SPEED_TICK_S) * SPEED_TICK_S
    return [dt.datetime.fromtimestamp(t, dt.UTC) for t in range(first, math.floor(end.timestamp()) + 1, SPEED_TICK_S)]


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def speed_over_time(start: dt.datetime, series: dict[str, Sequence[tuple[float, float]]],
                    window: TimeWindow | None) -> alt.LayerChart:
    """Speed [m/s] of each ego trajectory over UTC clock time, ``series`` as ``(t_s from start, speed_mps)``;
    the trigger's window as a shaded band with rules at its ends."""
    rows, points = [], []
    for name, samples in series.items():
        for t_s, v in samples:
            ts = start + dt.timedelta(seconds=float(t_s))
            row = {"utc": _iso(ts), "trajectory": name, "speed_mps": float(v),
                   "tip": f"{name} {clock(ts, 1)} UTC: {v:.1f} m/s"}
            rows.append(row)
            if math.isclose(t_s / SPEED_POINT_S, round(t_s / SPEED_POINT_S), abs_tol=1e-6):
                points.append(row)
    end = start + dt.timedelta(seconds=max(t for s in series.values() for t, _ in s))
    x = alt.X("utc:T", scale=alt.Scale(type="utc"), title="UTC",
              axis=alt.Axis(format=CLOCK, labelAngle=0, values=[t.timestamp() * 1000 for t in clock_ticks(start, end)]))
    colors = alt.Scale(domain=list(EGO_COLORS), range=list(EGO_COLORS.values()))
    dashes = alt.Scale(domain=list(EGO_COLORS), range=[[1, 0], [6, 3]])
    lines = alt.Chart(pd.DataFrame(rows)).mark_line(strokeWidth=2, aria=False).encode(
        x=x, y=alt.Y("speed_mps:Q", title="speed [m/s]", axis=alt.Axis(format=NUMBER)),
        color=alt.Color("trajectory:N", title=None, scale=colors),
        strokeDash=alt.StrokeDash("trajectory:N", scale=dashes, legend=None),
    )
    dots = alt.Chart(pd.DataFrame(points)).mark_point(filled=True, size=18, opacity=1).encode(
        x=x, y="speed_mps:Q", color=alt.Color("trajectory:N", scale=colors, legend=None),
        description="tip:N", tooltip="tip:N")
    layers = [lines, dots]
    if window is not None:
        span = pd.DataFrame([{"start": _iso(window.start), "end": _iso(window.end), "tip": window.label}])
        wx = alt.X("start:T", scale=alt.Scale(type="utc"))
        layers.insert(0, alt.Chart(span).mark_rect(color=TRIGGER_COLOR, opacity=0.12).encode(
            x=wx, x2="end:T", description="tip:N", tooltip="tip:N"))
        layers += [alt.Chart(span).mark_rule(color=TRIGGER_COLOR, strokeDash=[3, 2], aria=False).encode(x=wx),
                   alt.Chart(span).mark_rule(color=TRIGGER_COLOR, strokeDash=[3, 2], aria=False).encode(
                       x=alt.X("end:T", scale=alt.Scale(type="utc")))]
    return alt.layer(*layers, title="speed").properties(width=WIDTH_PX - 60, height=HEIGHT_PX - 40)
