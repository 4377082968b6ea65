"""Running a mining query on a tag store, then clips.

A conjunction of tags (the common question, with any filters) is answered on the run layout: the runs of its
sparsest tag, restricted to the spans the filters keep, intersected with the runs of each next tag (an equi-join on
the span and an overlap test), then merged into clips. Every other query (``or``, ``not``, ``then ... within``,
``for at least``) is compiled to SQL over the per-second bitmap (bit tests such as ``(w1 & 8::UBIGINT) <> 0``;
temporal operators as window functions)."""

from __future__ import annotations

import datetime as dt
import itertools

import duckdb

from fleetloop.mining.clips import DEFAULT_PADDING, Padding, clips_sql, run_clips_sql
from fleetloop.mining.features import FILTER_COLUMNS, KEY_COLUMNS
from fleetloop.mining.language import And, Expr, Filters, ForAtLeast, Not, Or, Query, TagRef, Then, parse
from fleetloop.mining.store import DEFAULT_STORE, TagStore, read_tag_map, ubigint
from fleetloop.mining.tags import WORD_BITS, word_column

_EPOCH = dt.date(1970, 1, 1)
_VEHICLE_ORDER = "partition by vehicle_id order by ts_s"


def _epoch_s(day: dt.date) -> int:
    return (day - _EPOCH).days * 86_400


class _Compiler:
    """Turns an expression into a boolean SQL expression plus the window layers it needs (in order)."""

    def __init__(self, tag_map: dict[str, tuple[int, int]]):
        self.tag_map = tag_map
        self.layers: list[str] = []  # select-list additions, each over the previous layer
        self.words: set[int] = set()
        self._names = itertools.count()

    def name(self, prefix: str) -> str:
        return f"_{prefix}{next(self._names)}"

    def sql(self, e: Expr) -> str:
        match e:
            case TagRef(name):
                word, bit = self.tag_map[name]
                self.words.add(word)
                return f"(({word_column(word)} & {ubigint(1 << bit)}) <> 0)"
            case Not(operand):
                return f"(not {self.sql(operand)})"
            case And(operands) | Or(operands):
                joiner = " and " if isinstance(e, And) else " or "
                return "(" + joiner.join(self.sql(o) for o in operands) + ")"
            case Then(first, second, within_s):
                a, b, out = self.sql(first), self.sql(second), self.name("then")
                self.layers.append(f"({b} and coalesce(max(({a})::INTEGER) over ({_VEHICLE_ORDER} range between "
                                   f"{within_s} preceding and 1 preceding), 0) = 1) as {out}")
                return out
            case ForAtLeast(operand, min_s):
                a, holds, island, out = self.sql(operand), self.name("holds"), self.name("island"), self.name("for")
                self.layers.append(f"{a} as {holds}, ts_s - row_number() over (partition by vehicle_id, {a} "
                                   f"order by ts_s) as {island}")
                self.layers.append(f"({holds} and count(*) over (partition by vehicle_id, {holds}, {island}) "
                                   f">= {min_s}) as {out}")
                return out
        raise TypeError(f"not an expression: {e!r}")


def _where(filters: Filters, ts_column: str = "ts_s") -> tuple[list[str], list[object]]:
    clauses, params = [], []
    for column, allowed in filters.values.items():
        clauses.append(f"{column} in ({', '.join('?' for _ in allowed)})")
        params.extend(allowed)
    if filters.first_day:
        clauses.append(f"{ts_column} >= ?")
        params.append(_epoch_s(filters.first_day))
    if filters.last_day:
        clauses.append(f"{ts_column} < ?")
        params.append(_epoch_s(filters.last_day + dt.timedelta(days=1)))
    return clauses, params


def compile_query(query: Query, tag_map: dict[str, tuple[int, int]], store: TagStore = DEFAULT_STORE,
                  padding: Padding = DEFAULT_PADDING) -> tuple[str, list[object]]:
    """SQL and parameters answering ``query`` with one row per clip (``clips.CLIP_COLUMNS``)."""
    compiler = _Compiler(tag_map)
    condition = compiler.sql(query.expr)
    clauses, params = _where(query.filters)
    carried = ", ".join(KEY_COLUMNS + FILTER_COLUMNS)
    words = ", ".join(word_column(w) for w in sorted(compiler.words))
    if not compiler.layers:  # a plain boolean: one filtered scan
        matched = f"(select {carried} from {store.table} where {' and '.join(clauses + [condition])})"
        return clips_sql(matched, padding), params
    where = f" where {' and '.join(clauses)}" if clauses else ""
    ctes = [f"_layer0 as (select {carried}, {words} from {store.table}{where})"]
    ctes += [f"_layer{i + 1} as (select *, {layer} from _layer{i})" for i, layer in enumerate(compiler.layers)]
    last = f"_layer{len(compiler.layers)}"
    sql = f"with {', '.join(ctes)}\n" + clips_sql(f"(select {carried} from {last} where {condition})", padding)
    return sql, params


def conjunction(expr: Expr) -> tuple[str, ...] | None:
    """The tags of an expression that is one tag or an ``and`` of tags (the run layout's fast path), else None."""
    if isinstance(expr, TagRef):
        return (expr.name,)
    if isinstance(expr, And) and all(isinstance(o, TagRef) for o in expr.operands):
        return tuple(dict.fromkeys(o.name for o in expr.operands))
    return None


def compile_conjunction(tag_ids: list[int], filters: Filters, store: TagStore = DEFAULT_STORE,
                        padding: Padding = DEFAULT_PADDING) -> tuple[str, list[object]]:
    """SQL and parameters giving the clips of the seconds where every tag of ``tag_ids`` holds, on the run layout;
    the runs of ``tag_ids[0]`` are read first (put the sparsest tag there)."""
    clauses, params = _where(filters, "start_s")  # a span lies within one UTC day
    kept = f" and span_id in (select span_id from {store.span_table} where {' and '.join(clauses)})" if clauses else ""
    ctes = [f"_r0 as (select span_id, start_s, end_s from {store.run_table} where tag_id = {tag_ids[0]}{kept})"]
    for i, tag_id in enumerate(tag_ids[1:], start=1):
        ctes.append(f"_r{i} as (select a.span_id, greatest(a.start_s, b.start_s) as start_s, "
                    f"least(a.end_s, b.end_s) as end_s from _r{i - 1} a join {store.run_table} b on b.tag_id = "
                    f"{tag_id} and b.span_id = a.span_id and b.start_s <= a.end_s and a.start_s <= b.end_s)")
    sql = f"with {', '.join(ctes)}\n" + run_clips_sql(f"_r{len(tag_ids) - 1}", store.span_table, padding)
    return sql, params


def sparsest_first(con: duckdb.DuckDBPyConnection, tag_ids: list[int], store: TagStore = DEFAULT_STORE) -> list[int]:
    """``tag_ids`` ordered by their number of runs, fewest first."""
    counts = dict(con.execute(f"select tag_id, count(*) from {store.run_table} where tag_id in "
                              f"({', '.join(map(str, tag_ids))}) group by tag_id").fetchall())
    return sorted(tag_ids, key=lambda t: (counts.get(t, 0), t))


def mine(con: duckdb.DuckDBPyConnection, text: str, store: TagStore = DEFAULT_STORE,
         padding: Padding = DEFAULT_PADDING) -> duckdb.DuckDBPyRelation:
    """The clips of the query ``text`` on the tag store of ``con`` (tags as the store was built): a conjunction on
    the runs, anything else on the per-second bitmap."""
    tag_map = read_tag_map(con, store)
    query = parse(text, tag_map)
    tags = conjunction(query.expr)
    if tags:
        tag_ids = sparsest_first(con, [tag_map[t][0] * WORD_BITS + tag_map[t][1] for t in tags], store)
        sql, params = compile_conjunction(tag_ids, query.filters, store, padding)
    else:
        sql, params = compile_query(query, tag_map, store, padding)
    return con.sql(sql, params=params)
