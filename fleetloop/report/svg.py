"""The bird's-eye view of a scene as inline SVG: lanes, agent tracks and boxes, the ego paths, and time
markers across the logged path (x east, y north, one scale for both axes, which a chart grammar does not do)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = 'font-family="system-ui, sans-serif"'
TITLE_PX, LEGEND_ROW_PX = 24, 15
LABEL_PX, CHAR_PX = 10, 5.6  # marker labels: font size and the width of one character (a label that would
                             # overlap one already drawn is left out; its rule keeps the tooltip)
MARGIN_M, LANE_REACH_M = 12.0, 60.0  # around the focus tracks; lanes drawn when they come this close to the view
MARKER_HALF_M = 2.5  # half the length of a time marker across the path


@dataclass(frozen=True)
class Track:
    """A polyline in the site frame (metres) with a style and an optional box at its first sample."""

    xy: Sequence[tuple[float, float]]
    color: str
    width: float = 2.0
    dash: str = ""
    label: str = ""
    box: tuple[float, float, float, float, float] | None = None  # x, y, heading, length, width
    focus: bool = True  # whether the view is fitted around this track


@dataclass(frozen=True)
class Marker:
    """A time marker: a short rule across the path at ``xy`` (perpendicular to ``heading_rad``)."""

    xy: tuple[float, float]
    heading_rad: float
    label: str
    color: str
    tooltip: str
    left: bool = False  # label on the left end of the rule (else the right)


def _box_points(x: float, y: float, h: float, length: float, width: float) -> list[tuple[float, float]]:
    c, s = math.cos(h), math.sin(h)
    return [(x + dx * c - dy * s, y + dx * s + dy * c)
            for dx, dy in ((length / 2, width / 2), (length / 2, -width / 2), (-length / 2, -width / 2),
                           (-length / 2, width / 2))]


def _round_length(v: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``v`` (a scale bar's length)."""
    exp = 10 ** math.floor(math.log10(v))
    return max(m * exp for m in (1, 2, 5) if m * exp <= v)


def bev_plot(
    lanes: Sequence[tuple[Sequence[tuple[float, float]], ...]], tracks: Sequence[Track], markers: Sequence[Marker],
    title: str, legend: Sequence[tuple[str, str, str]] = (), width: int = 520, height: int = 340,
) -> str:
    """Lanes as ``(centerline, left bound, right bound)`` grey bands, then tracks and boxes in order, then the
    markers; fitted around the focus tracks; ``legend`` rows are ``(label, colour, dash)``."""
    pts = [p for t in tracks if t.focus for p in t.xy]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs) - MARGIN_M, max(xs) + MARGIN_M, min(ys) - MARGIN_M, max(ys) + MARGIN_M
    scale = min(width / (x1 - x0), (height - TITLE_PX) / (y1 - y0))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def px(p: tuple[float, float]) -> tuple[float, float]:
        return width / 2 + (p[0] - cx) * scale, TITLE_PX + (height - TITLE_PX) / 2 - (p[1] - cy) * scale

    def path(points: Sequence[tuple[float, float]]) -> str:
        return " ".join("{:.1f},{:.1f}".format(*px(p)) for p in points)

    def near(p: tuple[float, float]) -> bool:
        return x0 - LANE_REACH_M <= p[0] <= x1 + LANE_REACH_M and y0 - LANE_REACH_M <= p[1] <= y1 + LANE_REACH_M

    body = [f'<rect x="0" y="{TITLE_PX}" width="{width}" height="{height - TITLE_PX}" fill="#f8fafc"/>']
    for center, left, right in lanes:
        if any(near(p) for p in center):
            body.append(f'<polygon points="{path([*left, *reversed(right)])}" fill="#e2e8f0"/>'
                        + "".join(f'<polyline points="{path(b)}" fill="none" stroke="#94a3b8" stroke-width="0.8"/>'
                                  for b in (left, right))
                        + f'<polyline points="{path(center)}" fill="none" stroke="#fff" stroke-dasharray="6 6"/>')
    for t in tracks:
        if len(t.xy) > 1:
            dash = f' stroke-dasharray="{t.dash}"' if t.dash else ""
            body.append(f'<polyline points="{path(t.xy)}" fill="none" stroke="{t.color}" stroke-width="{t.width}"'
                        f'{dash} stroke-linecap="round"><title>{escape(t.label)}</title></polyline>')
        if t.box:
            body.append(f'<polygon points="{path(_box_points(*t.box))}" fill="{t.color}" fill-opacity="0.5" '
                        f'stroke="{t.color}"><title>{escape(t.label)}</title></polygon>')
    drawn: list[tuple[float, float, float, float]] = []  # label boxes: x0, y0, x1, y1
    for m in markers:
        nx, ny = -math.sin(m.heading_rad) * MARKER_HALF_M, math.cos(m.heading_rad) * MARKER_HALF_M
        ends = sorted([px((m.xy[0] + nx, m.xy[1] + ny)), px((m.xy[0] - nx, m.xy[1] - ny))])
        body.append('<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"'.format(*ends[0], *ends[1])
                    + f' stroke="{m.color}" stroke-width="2"><title>{escape(m.tooltip)}</title></line>')
        (x, y), w = ends[0] if m.left else ends[1], CHAR_PX * len(m.label)
        box = (x - 3 - w, y - LABEL_PX / 2, x - 3, y + LABEL_PX / 2) if m.left else \
            (x + 3, y - LABEL_PX / 2, x + 3 + w, y + LABEL_PX / 2)
        if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in drawn):
            drawn.append(box)
            body.append(f'<text x="{box[0]:.1f}" y="{box[3] - 1:.1f}" font-size="{LABEL_PX}" fill="{m.color}">'
                        f"{escape(m.label)}</text>")
    for n, (label, color, dash) in enumerate(legend):
        y = TITLE_PX + 14 + n * LEGEND_ROW_PX
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<line x1="{width - 150}" y1="{y - 4}" x2="{width - 126}" y2="{y - 4}" stroke="{color}" '
                    f'stroke-width="3"{dash_attr}/>'
                    f'<text x="{width - 120}" y="{y}" fill="#334155">{escape(label)}</text>')
    bar_m = _round_length((x1 - x0) / 5)
    body.append(f'<line x1="10" y1="{height - 10}" x2="{10 + bar_m * scale:.1f}" y2="{height - 10}" stroke="#111827" '
                f'stroke-width="2"/><text x="10" y="{height - 14}" fill="#111827">{bar_m:,.0f} m</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" {FONT} font-size="12" role="img"><title>{escape(title)}</title>{"".join(body)}'
            f'<rect width="{width}" height="{TITLE_PX}" fill="#fff"/>'
            f'<text x="8" y="16" font-size="13" font-weight="600">{escape(title)}</text></svg>')
