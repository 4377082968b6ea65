"""Small inline-SVG chart primitives (no external assets): lines with interval bands, bars, forest plots,
and a bird's-eye view of a scene."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
FONT = 'font-family="system-ui, sans-serif"'


def _nice_max(v: float) -> float:
    if v <= 0 or not math.isfinite(v):
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2g}"


def _frame(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'{FONT} font-size="12" role="img"><title>{escape(title)}</title>'
        f'<text x="8" y="16" font-size="14" font-weight="600">{escape(title)}</text>' + "".join(body) + "</svg>"
    )


def _empty(title: str, width: int, height: int, why: str) -> str:
    return _frame(width, height, [f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#6b7280">'
                                  f"{escape(why)}</text>"], title)


@dataclass(frozen=True)
class Point:
    """One x category with a value and an optional interval."""

    x: str
    y: float | None
    lo: float | None = None
    hi: float | None = None


def line_chart(
    series: dict[str, Sequence[Point]], title: str, y_label: str = "", width: int = 460, height: int = 240
) -> str:
    """Lines over shared x categories; each point's [lo, hi] drawn as a shaded band and whiskers."""
    xs = list(dict.fromkeys(p.x for pts in series.values() for p in pts))
    vals = [v for pts in series.values() for p in pts for v in (p.y, p.hi) if v is not None and math.isfinite(v)]
    if not xs or not vals:
        return _empty(title, width, height, "no data")
    left, right, top, bottom = 54, 110, 28, 34
    pw, ph = width - left - right, height - top - bottom
    ymax = _nice_max(max(vals))
    sx = (lambda i: left + pw / 2) if len(xs) == 1 else (lambda i: left + i * pw / (len(xs) - 1))

    def sy(v: float) -> float:
        return top + ph * (1 - min(max(v, 0.0), ymax) / ymax)

    body = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#9ca3af"/>']
    for k in range(5):
        v = ymax * k / 4
        body.append(f'<line x1="{left}" y1="{sy(v):.1f}" x2="{left + pw}" y2="{sy(v):.1f}" stroke="#f3f4f6"/>'
                    f'<text x="{left - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" fill="#6b7280">{_fmt(v)}</text>')
    for i, x in enumerate(xs):
        body.append(f'<text x="{sx(i):.1f}" y="{top + ph + 16}" text-anchor="middle" fill="#6b7280">{escape(x)}</text>')
    if y_label:
        body.append(f'<text x="12" y="{top + ph / 2}" transform="rotate(-90 12 {top + ph / 2})" '
                    f'text-anchor="middle" fill="#6b7280">{escape(y_label)}</text>')
    for n, (name, pts) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        idx = {p.x: p for p in pts}
        band = [(sx(i), p.lo, p.hi) for i, x in enumerate(xs) if (p := idx.get(x)) and p.lo is not None and p.hi is not None]
        if len(band) > 1:
            poly = [f"{x:.1f},{sy(hi):.1f}" for x, _, hi in band] + [f"{x:.1f},{sy(lo):.1f}" for x, lo, _ in reversed(band)]
            body.append(f'<polygon points="{" ".join(poly)}" fill="{color}" fill-opacity="0.12"/>')
        for x, lo, hi in band:
            body.append(f'<line x1="{x:.1f}" y1="{sy(lo):.1f}" x2="{x:.1f}" y2="{sy(hi):.1f}" stroke="{color}" '
                        f'stroke-opacity="0.6"/>')
        line = [(sx(i), idx[x].y) for i, x in enumerate(xs) if x in idx and idx[x].y is not None]
        if len(line) > 1:
            body.append(f'<polyline points="{" ".join(f"{x:.1f},{sy(y):.1f}" for x, y in line)}" fill="none" '
                        f'stroke="{color}" stroke-width="2"/>')
        for x, y in line:
            body.append(f'<circle cx="{x:.1f}" cy="{sy(y):.1f}" r="3.5" fill="{color}"><title>{escape(name)}: '
                        f"{_fmt(y)}</title></circle>")
        body.append(f'<rect x="{left + pw + 12}" y="{top + 4 + n * 18}" width="10" height="10" fill="{color}"/>'
                    f'<text x="{left + pw + 26}" y="{top + 13 + n * 18}">{escape(name[:14])}</text>')
    return _frame(width, height, body, title)


def bar_chart(
    rows: Sequence[tuple[str, float, str]], title: str, fmt: str = "{:.0%}", vmax: float | None = None,
    width: int = 460, bar_h: int = 18,
) -> str:
    """Horizontal bars: (label, value, colour key); value labels formatted with ``fmt``."""
    if not rows:
        return _empty(title, width, 80, "no data")
    left, top = 12 + 7 * max(len(label) for label, _, _ in rows), 28
    height = top + len(rows) * (bar_h + 6) + 10
    vmax = vmax or _nice_max(max(v for _, v, _ in rows))
    pw = width - left - 70
    keys = list(dict.fromkeys(k for _, _, k in rows))
    body = []
    for i, (label, v, key) in enumerate(rows):
        y = top + i * (bar_h + 6)
        w = max(0.0, pw * min(v, vmax) / vmax)
        color = PALETTE[keys.index(key) % len(PALETTE)]
        body.append(f'<text x="{left - 6}" y="{y + bar_h - 5}" text-anchor="end">{escape(label)}</text>'
                    f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{color}"/>'
                    f'<text x="{left + w + 6:.1f}" y="{y + bar_h - 5}" fill="#374151">{escape(fmt.format(v))}</text>')
    return _frame(width, height, body, title)


def forest_plot(
    rows: Sequence[tuple[str, float, float, float, bool]], title: str, width: int = 460
) -> str:
    """Rates with exact intervals per row: (label, value, lo, hi, highlighted)."""
    if not rows:
        return _empty(title, width, 80, "no data")
    left, top, row_h = 170, 28, 24
    height = top + len(rows) * row_h + 26
    vmax = _nice_max(max(max(r[3], r[1]) for r in rows))
    pw = width - left - 20

    def sx(v: float) -> float:
        return left + pw * min(max(v, 0.0), vmax) / vmax

    body = [f'<line x1="{left}" y1="{top + len(rows) * row_h}" x2="{left + pw}" y2="{top + len(rows) * row_h}" stroke="#9ca3af"/>']
    for k in range(5):
        v = vmax * k / 4
        body.append(f'<text x="{sx(v):.1f}" y="{top + len(rows) * row_h + 14}" text-anchor="middle" fill="#6b7280">{_fmt(v)}</text>')
    for i, (label, v, lo, hi, hl) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        color = PALETTE[1] if hl else PALETTE[0]
        body.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{escape(label)}</text>'
                    f'<line x1="{sx(lo):.1f}" y1="{y}" x2="{sx(hi):.1f}" y2="{y}" stroke="{color}" stroke-width="2"/>'
                    f'<circle cx="{sx(v):.1f}" cy="{y}" r="4.5" fill="{color}"><title>{_fmt(v)} [{_fmt(lo)}, {_fmt(hi)}]</title></circle>')
    return _frame(width, height, body, title)


@dataclass(frozen=True)
class Track:
    """A polyline in the site frame (metres) with a style."""

    xy: Sequence[tuple[float, float]]
    color: str
    width: float = 2.0
    dash: str = ""
    label: str = ""
    box: tuple[float, float, float, float, float] | None = None  # x, y, heading, length, width
    focus: bool = True  # whether the view is fitted around this track


def _box_points(x: float, y: float, h: float, length: float, wid: float) -> list[tuple[float, float]]:
    c, s = math.cos(h), math.sin(h)
    pts = []
    for dx, dy in ((length / 2, wid / 2), (length / 2, -wid / 2), (-length / 2, -wid / 2), (-length / 2, wid / 2)):
        pts.append((x + dx * c - dy * s, y + dx * s + dy * c))
    return pts


def bev_plot(
    lanes: Sequence[tuple[Sequence[tuple[float, float]], ...]], tracks: Sequence[Track], title: str,
    width: int = 460, height: int = 320, margin_m: float = 12.0,
    legend: Sequence[tuple[str, str, str]] = (),
) -> str:
    """Bird's-eye view (x east, y north, equal scale) fitted around the focus tracks: lanes given as
    (centerline, left bound, right bound) drawn as grey bands, then tracks and boxes in order."""
    pts = [p for t in tracks if t.focus for p in t.xy]
    if not pts:
        return _empty(title, width, height, "no trajectory")
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs) - margin_m, max(xs) + margin_m, min(ys) - margin_m, max(ys) + margin_m
    top = 24
    scale = min(width / (x1 - x0), (height - top) / (y1 - y0))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def tx(p: tuple[float, float]) -> str:
        return f"{width / 2 + (p[0] - cx) * scale:.1f},{top + (height - top) / 2 - (p[1] - cy) * scale:.1f}"

    body = [f'<rect x="0" y="{top}" width="{width}" height="{height - top}" fill="#f8fafc"/>']
    def near(p: tuple[float, float]) -> bool:
        return x0 - 60 <= p[0] <= x1 + 60 and y0 - 60 <= p[1] <= y1 + 60

    for center, left, right in lanes:
        if not any(near(p) for p in center):
            continue
        area = " ".join(tx(p) for p in [*left, *reversed(right)])
        body.append(f'<polygon points="{area}" fill="#e2e8f0" stroke="none"/>')
        for bound in (left, right):
            body.append(f'<polyline points="{" ".join(tx(p) for p in bound)}" fill="none" stroke="#94a3b8" stroke-width="0.8"/>')
        body.append(f'<polyline points="{" ".join(tx(p) for p in center)}" fill="none" stroke="#ffffff" '
                    f'stroke-width="1" stroke-dasharray="6 6"/>')
    for t in tracks:
        if len(t.xy) > 1:
            dash = f' stroke-dasharray="{t.dash}"' if t.dash else ""
            body.append(f'<polyline points="{" ".join(tx(p) for p in t.xy)}" fill="none" stroke="{t.color}" '
                        f'stroke-width="{t.width}"{dash} stroke-linecap="round"><title>{escape(t.label)}</title></polyline>')
        if t.box:
            body.append(f'<polygon points="{" ".join(tx(p) for p in _box_points(*t.box))}" fill="{t.color}" '
                        f'fill-opacity="0.5" stroke="{t.color}"/>')
    for n, (label, color, dash) in enumerate(legend):
        y = top + 14 + n * 15
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<line x1="{width - 150}" y1="{y - 4}" x2="{width - 126}" y2="{y - 4}" stroke="{color}" '
                    f'stroke-width="3"{dash_attr}/><text x="{width - 120}" y="{y}" fill="#334155">{escape(label)}</text>')
    bar_m = _nice_max((x1 - x0) / 5)
    body.append(f'<line x1="10" y1="{height - 10}" x2="{10 + bar_m * scale:.1f}" y2="{height - 10}" stroke="#111827" '
                f'stroke-width="2"/><text x="10" y="{height - 14}" fill="#111827">{_fmt(bar_m)} m</text>')
    return _frame(width, height, body, title)


def xy_chart(
    series: dict[str, Sequence[tuple[float, float]]], title: str, x_label: str, y_label: str,
    width: int = 300, height: int = 200, dashed: Sequence[str] = (), colors: dict[str, str] | None = None,
) -> str:
    """Numeric-x lines (e.g. speed over time), y from zero."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return _empty(title, width, height, "no data")
    left, right, top, bottom = 40, 10, 26, 30
    pw, ph = width - left - right, height - top - bottom
    xmin, xmax = min(p[0] for p in pts), max(p[0] for p in pts)
    ymax = _nice_max(max(p[1] for p in pts))
    xspan = (xmax - xmin) or 1.0

    def tx(p: tuple[float, float]) -> str:
        return f"{left + pw * (p[0] - xmin) / xspan:.1f},{top + ph * (1 - max(p[1], 0.0) / ymax):.1f}"

    body = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#9ca3af"/>',
            f'<text x="{left + pw / 2}" y="{height - 4}" text-anchor="middle" fill="#6b7280">{escape(x_label)}</text>',
            f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" fill="#6b7280">{_fmt(ymax)}</text>',
            f'<text x="{left - 4}" y="{top + ph}" text-anchor="end" fill="#6b7280">0</text>']
    for n, (name, s) in enumerate(series.items()):
        color = (colors or {}).get(name, PALETTE[n % len(PALETTE)])
        dash = ' stroke-dasharray="5 3"' if name in dashed else ""
        body.append(f'<polyline points="{" ".join(tx(p) for p in s)}" fill="none" stroke="{color}" stroke-width="2"{dash}/>'
                    f'<text x="{left + pw - 4}" y="{top + 12 + n * 14}" text-anchor="end" fill="{color}">{escape(name)}</text>')
    return _frame(width, height, body, f"{title} [{y_label}]" if y_label else title)
