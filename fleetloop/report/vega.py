"""Altair charts rendered to inline SVG by vl-convert: no script, no network, tooltips kept as ``<title>``.

Vega's SVG renderer writes a data mark's ``description`` channel as its ``aria-label``; browsers show a
``<title>`` child on hover, so every labelled data mark gets one with the same text. Clip-path ids are made
unique per chart, so that several charts can live in one page.
"""

from __future__ import annotations

import hashlib
import json
import re
from html import escape

import altair as alt
import vl_convert as vlc

FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
CONFIG = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": 500, "labelOverlap": True,
             "gridColor": "#eef2f7"},
    "title": {"fontSize": 13, "anchor": "start", "fontWeight": 600},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"},
}
# d3 formats of the chart axes: thousands separators, insignificant zeros dropped (tick values are round)
NUMBER = ",~f"
SHARE = ".1~%"
CLOCK = "%H:%M:%S"  # axis labels of UTC time scales

_DATA_MARK = re.compile(r'<(\w+)([^<>]*?\saria-label="([^"]*)"[^<>]*?\srole="graphics-symbol"[^<>]*?)(/?)>')
_ID = re.compile(r'(\sid="|url\(#)([\w-]+)')


def _with_titles(svg: str) -> str:
    def add(m: re.Match) -> str:
        tag, attrs, label, closed = m.groups()
        title = f"<title>{label}</title>"  # already escaped as an attribute value
        return f"<{tag}{attrs}>{title}</{tag}>" if closed else f"<{tag}{attrs}>{title}"

    return _DATA_MARK.sub(add, svg)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as one inline ``<svg>`` element."""
    spec = chart.to_dict()
    prefix = "c" + hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:8]
    svg = vlc.vegalite_to_svg(spec, config=CONFIG, allowed_base_urls=[])
    svg = _ID.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
    return _with_titles(svg)


def figure(chart: alt.TopLevelMixin, caption: str = "") -> str:
    """The chart's SVG in a ``<figure class="chart">`` with an optional caption."""
    text = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart">{to_svg(chart)}{text}</figure>'
