"""The mining language's meaning as plain loops over a list of per-second dicts (the oracle for the SQL).

A row is ``{"vehicle_id", "ts_s", "site_id", "route_id", "version", "vehicle_class", "tags": set of names}``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from fleetloop.mining.clips import Padding
from fleetloop.mining.features import FILTER_COLUMNS
from fleetloop.mining.language import And, Expr, Filters, ForAtLeast, Not, Or, Query, TagRef, Then


def _kept(row: dict, filters: Filters) -> bool:
    if any(row[c] not in allowed for c, allowed in filters.values.items()):
        return False
    day = dt.datetime.fromtimestamp(row["ts_s"], dt.UTC).date()
    return (filters.first_day is None or day >= filters.first_day) and (
        filters.last_day is None or day <= filters.last_day)


def holds(e: Expr, rows: list[dict]) -> list[bool]:
    """Whether ``e`` holds at each row of one vehicle's rows (sorted by ts_s)."""
    if isinstance(e, TagRef):
        return [e.name in r["tags"] for r in rows]
    if isinstance(e, Not):
        return [not v for v in holds(e.operand, rows)]
    if isinstance(e, And | Or):
        combine = all if isinstance(e, And) else any
        values = [holds(o, rows) for o in e.operands]
        return [combine(v[i] for v in values) for i in range(len(rows))]
    if isinstance(e, Then):
        a, b = holds(e.first, rows), holds(e.second, rows)
        out = []
        for i, r in enumerate(rows):
            earlier = [a[j] for j, q in enumerate(rows) if r["ts_s"] - e.within_s <= q["ts_s"] < r["ts_s"]]
            out.append(b[i] and any(earlier))
        return out
    if isinstance(e, ForAtLeast):
        a = holds(e.operand, rows)
        out = []
        for i in range(len(rows)):
            lo = hi = i
            while lo > 0 and a[lo - 1] and rows[lo - 1]["ts_s"] == rows[lo]["ts_s"] - 1:
                lo -= 1
            while hi < len(rows) - 1 and a[hi + 1] and rows[hi + 1]["ts_s"] == rows[hi]["ts_s"] + 1:
                hi += 1
            out.append(a[i] and hi - lo + 1 >= e.min_s)
        return out
    raise TypeError(f"not an expression: {e!r}")


def matching_rows(query: Query, rows: list[dict]) -> list[dict]:
    """The rows (after the filters) where the query's expression holds, by vehicle and second."""
    by_vehicle: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["vehicle_id"], r["ts_s"])):
        if _kept(r, query.filters):
            by_vehicle[r["vehicle_id"]].append(r)
    return [r for vehicle_rows in by_vehicle.values()
            for r, ok in zip(vehicle_rows, holds(query.expr, vehicle_rows), strict=True) if ok]


def clips(query: Query, rows: list[dict], padding: Padding) -> list[dict]:
    """The query's clips: consecutive matching seconds of a vehicle whose padded spans touch, merged."""
    out: list[dict] = []
    for r in matching_rows(query, rows):
        last = out[-1] if out else None
        if last and last["vehicle_id"] == r["vehicle_id"] and r["ts_s"] - last["last_s"] <= padding.join_gap_s:
            last["last_s"], last["matched_s"] = r["ts_s"], last["matched_s"] + 1
        else:
            out.append({"vehicle_id": r["vehicle_id"], "first_s": r["ts_s"], "last_s": r["ts_s"], "matched_s": 1}
                       | {c: r[c] for c in FILTER_COLUMNS})
    return [{"vehicle_id": c["vehicle_id"], "clip_start_s": c["first_s"] - padding.before_s,
             "clip_end_s": c["last_s"] + padding.after_s,
             "seconds": c["last_s"] - c["first_s"] + padding.before_s + padding.after_s + 1,
             "matched_s": c["matched_s"]} | {k: c[k] for k in FILTER_COLUMNS} for c in out]
