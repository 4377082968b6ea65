"""Whole-partition counts of row-level expectations in SQL, for tables too large to hand to GX whole.

Each supported expectation becomes a predicate that holds on its unexpected rows (nulls ignored as GX
ignores them); one scan counts them all.
"""

from __future__ import annotations

from collections.abc import Callable


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _between(kw: dict) -> str:
    col, parts = _q(kw["column"]), []
    if kw.get("min_value") is not None:
        parts.append(f"{col} {'<=' if kw.get('strict_min') else '<'} {_lit(kw['min_value'])}")
    if kw.get("max_value") is not None:
        parts.append(f"{col} {'>=' if kw.get('strict_max') else '>'} {_lit(kw['max_value'])}")
    return f"{col} is not null and ({' or '.join(parts) or 'false'})"


def _in_set(kw: dict) -> str:
    return f"{_q(kw['column'])} is not null and {_q(kw['column'])} not in ({', '.join(map(_lit, kw['value_set']))})"


def _pair(kw: dict) -> str:
    a, b = _q(kw["column_A"]), _q(kw["column_B"])
    return f"{a} is not null and {b} is not null and not ({a} {'>=' if kw.get('or_equal') else '>'} {b})"


PREDICATES: dict[str, Callable[[dict], str]] = {
    "expect_column_values_to_not_be_null": lambda kw: f"{_q(kw['column'])} is null",
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair,
}
UNIQUENESS = {
    "expect_column_values_to_be_unique": lambda kw: [kw["column"]],
    "expect_compound_columns_to_be_unique": lambda kw: list(kw["column_list"]),
}


def supported(kind: str) -> bool:
    return kind in PREDICATES or kind in UNIQUENESS


def unexpected_predicate(kind: str, kwargs: dict) -> str:
    """SQL predicate (over the relation ``base``) true on the rows an expectation rejects."""
    if kind in PREDICATES:
        return PREDICATES[kind](kwargs)
    cols = ", ".join(_q(c) for c in UNIQUENESS[kind](kwargs))
    return f"count(*) over (partition by {cols}) > 1"


def count_unexpected(con, base_sql: str, checks: list[tuple[str, dict]]) -> tuple[int, list[int]]:
    """Rows of ``base_sql`` and, per (type, kwargs), how many rows it rejects: one scan for the row-level
    predicates, one grouping per uniqueness check."""
    row_level = [(i, PREDICATES[k](kw)) for i, (k, kw) in enumerate(checks) if k in PREDICATES]
    counts = [0] * len(checks)
    select = ", ".join(["count(*)"] + [f"count(*) filter (where {p})" for _, p in row_level])
    (total, *found), = con.execute(f"with base as ({base_sql}) select {select} from base").fetchall()
    for (i, _), n in zip(row_level, found, strict=True):
        counts[i] = int(n)
    for i, (k, kw) in enumerate(checks):
        if k in UNIQUENESS:
            cols = ", ".join(_q(c) for c in UNIQUENESS[k](kw))
            (n,), = con.execute(f"with base as ({base_sql}) select sum(n) from "
                                f"(select count(*) as n from base group by {cols} having count(*) > 1)").fetchall()
            counts[i] = int(n or 0)
    return int(total), counts


def sample_unexpected(con, base_sql: str, kind: str, kwargs: dict, limit: int) -> list[dict]:
    """Up to ``limit`` rows an expectation rejects, as dicts."""
    pred = unexpected_predicate(kind, kwargs)
    clause = "qualify" if kind in UNIQUENESS else "where"
    return con.execute(f"with base as ({base_sql}) select * from base {clause} {pred} limit {int(limit)}"
                       ).df().to_dict("records")
