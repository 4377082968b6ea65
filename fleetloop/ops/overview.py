"""The one-page overview printed at the end of a run, read from the published warehouse."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence

import duckdb

from fleetloop.publish import connect_published


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, dt.datetime):
        return v.strftime("%H:%M:%S")
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    return str(v)


def text_table(columns: Sequence[str], rows: Sequence[Sequence[object]], width: int | None = None) -> str:
    """Rows as aligned text, dropping trailing columns that do not fit ``width``."""
    width = width or shutil.get_terminal_size((120, 40)).columns
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [min(28, max([len(c)] + [len(r[i]) for r in cells])) for i, c in enumerate(columns)]
    keep, used = 0, 0
    for w in widths:
        if used + w + 2 > width and keep:
            break
        used, keep = used + w + 2, keep + 1
    fmt = lambda vals: "  ".join(v[:w].ljust(w) for v, w in zip(vals[:keep], widths[:keep])).rstrip()  # noqa: E731
    return "\n".join([fmt(list(columns)), fmt(["-" * w for w in widths]), *(fmt(r) for r in cells)])


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> tuple[list[str], list[tuple]]:
    cur = con.execute(sql, list(params))
    return [d[0] for d in cur.description], cur.fetchall()


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
    ).fetchone()[0])


def overview_sections(con: duckdb.DuckDBPyConnection) -> list[tuple[str, list[str], list[tuple]]]:
    """(title, columns, rows) of each overview section present in the warehouse."""
    sections = []
    specs = [
        ("Fleet overview (latest day)", "ads", "ads_fleet_overview_1d",
         "select * from ads.ads_fleet_overview_1d where dt = (select max(dt) from ads.ads_fleet_overview_1d)"),
        ("Site health (latest day)", "ads", "ads_site_health_1d",
         "select * from ads.ads_site_health_1d where dt = (select max(dt) from ads.ads_site_health_1d)"),
        ("Software versions", "ads", "ads_version_compare", "select * from ads.ads_version_compare"),
        ("Case queue (top 10, latest day)", "ads", "ads_case_queue",
         "select case_id, dt, vehicle_id, site_id, triggers, severity, priority, action, reason "
         "from ads.ads_case_queue where dt = (select max(dt) from ads.ads_case_queue) order by queue_rank limit 10"),
    ]
    for title, schema, table, sql in specs:
        if _exists(con, schema, table):
            sections.append((title, *_query(con, sql)))
    return sections


def overview_text(published) -> str:
    con = connect_published(published)
    try:
        pub = con.execute("select run_id, published_at, days from meta.publication").fetchone()
        lines = [f"fleetloop overview: {published}",
                 f"published {pub[1]:%Y-%m-%d %H:%M:%S} UTC by run {pub[0][:8]}; days {', '.join(map(str, pub[2]))}"]
        for title, cols, rows in overview_sections(con):
            lines += ["", f"== {title} ==", text_table(cols, rows) if rows else "(no rows)"]
    finally:
        con.close()
    return "\n".join(lines)
