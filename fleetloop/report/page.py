"""The page shell of the HTML report: inline CSS, cards, sections and tables (no external assets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f1f5f9;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;color:#cbd5e1;font-size:13px}
main{padding:18px 28px;max-width:1500px}
section{background:#fff;border-radius:10px;padding:14px 18px;margin:0 0 18px;box-shadow:0 1px 2px #0000001a}
section h2{font-size:17px;margin:0 0 4px} section p.note{margin:0 0 10px;color:#475569;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:18px}
.card{background:#fff;border-radius:10px;padding:10px 16px;min-width:150px;box-shadow:0 1px 2px #0000001a}
.card .v{font-size:24px;font-weight:650} .card .k{font-size:12px;color:#475569} .card .s{font-size:11px;color:#64748b}
.grid{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
table{border-collapse:collapse;font-size:12px} th,td{padding:3px 8px;border-bottom:1px solid #e2e8f0;text-align:right}
th{background:#f8fafc;color:#334155} td:first-child,th:first-child{text-align:left}
.bad{color:#b91c1c;font-weight:600} .good{color:#15803d;font-weight:600}
.case{border:1px solid #e2e8f0;border-radius:8px;padding:8px 10px}
.case h3{font-size:14px;margin:0 0 4px} .case p{font-size:12px;margin:2px 0;color:#334155}
.case p.story{font-size:14px;color:#0f172a;margin:2px 0 8px}
figure.chart{margin:0} figure.chart figcaption{font-size:11px;color:#64748b;max-width:420px}
"""


def card(label: str, value: str, sub: str = "") -> str:
    return (f'<div class="card"><div class="k">{escape(label)}</div><div class="v">{escape(value)}</div>'
            f'<div class="s">{escape(sub)}</div></div>')


def section(title: str, note: str, *parts: str) -> str:
    return (f"<section><h2>{escape(title)}</h2>" + (f'<p class="note">{escape(note)}</p>' if note else "")
            + '<div class="grid">' + "".join(parts) + "</div></section>")


def plain(v: object) -> str:
    """A value as short text: 3 significant digits below 1000, thousands separators from 1000."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, dt.datetime):
        return (v.astimezone(dt.UTC) if v.tzinfo else v).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return str(v)


def cell(v: object) -> str:
    """A value as HTML table cell content (a true flag in red)."""
    return '<span class="bad">yes</span>' if v is True else escape(plain(v))


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, subtitle: str, body: Sequence[str]) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body><header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
            f"<main>{''.join(body)}</main></body></html>")
