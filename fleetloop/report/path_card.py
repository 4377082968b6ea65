"""A card of one window of a vehicle's drive: a sentence, the bird's-eye view of the ego's logged path over the
site's lane map with the window's part highlighted (red rules at its start and end, grey ones every 2 s of UTC
clock time), and the speed over UTC clock time. The scenes' example clips and the problems' example cases use it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import duckdb
import numpy as np

from fleetloop.report.cases import time_markers
from fleetloop.report.charts import EGO_COLORS, TRIGGER_COLOR, TimeWindow, speed_over_time
from fleetloop.report.query import rows
from fleetloop.report.svg import Track, bev_plot
from fleetloop.report.vega import figure

HIGHLIGHT_COLOR = "#2563eb"  # the window's part of the ego's path
LANES_SQL = """
select lane_id, list([x_m, y_m] order by seq) as center, list([left_x_m, left_y_m] order by seq) as left_bound,
       list([right_x_m, right_y_m] order by seq) as right_bound
from ref.lane_points where site_id = ? group by lane_id order by lane_id
"""


@dataclass(frozen=True)
class PathCard:
    """``path``: the ego's pose rows (``ts``, ``x_m``, ``y_m``, ``heading_rad``, ``speed_mps``) around ``window``,
    whose part ``[window.start, until)`` is highlighted under the label ``highlight``."""

    title: str
    story: str
    site_id: str
    path: Sequence[dict]
    window: TimeWindow
    until: dt.datetime
    highlight: str
    box_m: tuple[float, float] | None  # the vehicle's length and width
    footer: str


def path_log(path: Sequence[dict]) -> tuple[dt.datetime, np.ndarray]:
    """The first sample's time and the path as rows (t from it [s], x_m, y_m, heading_rad, speed_mps)."""
    start: dt.datetime = path[0]["ts"]
    return start, np.array([((p["ts"] - start).total_seconds(), p["x_m"], p["y_m"], p["heading_rad"],
                             p["speed_mps"]) for p in path], float)


def highlighted(path: Sequence[dict], first: dt.datetime, until: dt.datetime) -> np.ndarray:
    """Which samples of ``path`` lie in ``[first, until)``."""
    return np.array([first <= p["ts"] < until for p in path], bool)


def speed_range_mps(path: Sequence[dict], first: dt.datetime, until: dt.datetime) -> tuple[float, float]:
    inside = [p["speed_mps"] for p, keep in zip(path, highlighted(path, first, until), strict=True) if keep]
    return min(inside), max(inside)


def render(con: duckdb.DuckDBPyConnection, card: PathCard) -> str:
    start, log = path_log(card.path)
    inside = highlighted(card.path, card.window.start, card.until)
    box = (log[0, 1], log[0, 2], log[0, 3], *card.box_m) if card.box_m else None
    tracks = [Track(xy=[tuple(p) for p in log[inside, 1:3]], color=HIGHLIGHT_COLOR, width=7, label=card.highlight),
              Track(xy=[tuple(p) for p in log[:, 1:3]], color=EGO_COLORS["logged"], width=2.5, label="ego", box=box)]
    legend = [("ego path", EGO_COLORS["logged"], ""), (card.highlight, HIGHLIGHT_COLOR, ""),
              ("start/end", TRIGGER_COLOR, "")]
    lanes = [(r["center"], r["left_bound"], r["right_bound"]) for r in rows(con, LANES_SQL, [card.site_id])]
    bev = bev_plot(lanes, tracks, time_markers(log, start, card.window), f"bird's-eye view, {log[-1, 0]:.0f} s",
                   legend)
    speeds = figure(speed_over_time(start, {"logged": log[:, [0, 4]].tolist()}, card.window))
    return (f'<div class="case clip"><h3>{escape(card.title)}</h3><p class="story">{escape(card.story)}</p>'
            f'<div class="grid">{bev}<div>{speeds}</div></div><p>{escape(card.footer)}</p></div>')
