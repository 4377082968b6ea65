"""The tag store, in two layouts built from one feature table.

- ``dwd_second_tag``: per (vehicle_id, ts_s) the tags that hold, as bits of fixed-width ``UBIGINT`` words
  ``w0..wN``, beside the columns queries filter on. Answers every query.
- The run layout: ``dim_tag_span``, the spans (maximal runs of consecutive stored seconds of one vehicle within one
  UTC block of ``SPAN_BLOCK_S`` with constant site, route, version and class; ``span_id`` follows (vehicle_id,
  start_s)), and ``dwd_tag_run``, per tag and span the runs of consecutive seconds where the tag holds
  (``start_s``..``end_s``, both included), sorted by tag so a query reads only its tags. Conjunctions are
  interval intersections there.

The tag-to-(word, bit) map ``dim_tag`` is a small table beside them."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from fleetloop.mining.features import FILTER_COLUMNS, KEY_COLUMNS
from fleetloop.mining.tags import Tag, validate_rules, word_column, word_count


@dataclass(frozen=True)
class TagStore:
    """Where a tag store lives: the bitmap table, its tag map, the spans and the runs."""

    table: str = "dwd_second_tag"
    map_table: str = "dim_tag"
    span_table: str = "dim_tag_span"
    run_table: str = "dwd_tag_run"


DEFAULT_STORE = TagStore()
# spans end at every multiple of this many UTC seconds (a divisor of a day: a span lies within one UTC day), so the
# span equi-join of an intersection pairs only the runs of a few minutes
SPAN_BLOCK_S = 600
_SPAN_DDL = (f"span_id INTEGER, vehicle_no INTEGER, vehicle_id VARCHAR, "
             f"{', '.join(f'{c} VARCHAR' for c in FILTER_COLUMNS)}, start_s BIGINT, end_s BIGINT")
_RUN_DDL = "tag_id SMALLINT, span_id INTEGER, start_s BIGINT, end_s BIGINT"


def ubigint(value: int) -> str:
    """An unsigned 64-bit literal."""
    return f"{value}::UBIGINT"


def word_sql(tags: tuple[Tag, ...], word: int) -> str:
    """One word of the bitmap: the OR of the bits of the word's tags whose rule holds (null counts as false)."""
    terms = [f"(case when coalesce(({t.rule}), false) then {ubigint(t.mask)} else {ubigint(0)} end)"
             for t in tags if t.word == word]
    return "\n    | ".join(terms)


def build_sql(tags: tuple[Tag, ...], feature_table: str, store: TagStore) -> str:
    """The one statement that builds the bitmap table from a feature table, sorted by vehicle and second."""
    words = ",\n  ".join(f"({word_sql(tags, w)}) as {word_column(w)}" for w in range(word_count(tags)))
    carried = ", ".join(KEY_COLUMNS + FILTER_COLUMNS)
    return (f"create or replace table {store.table} as\nselect {carried},\n  {words}\n"
            f"from {feature_table}\norder by {', '.join(KEY_COLUMNS)}")


def create_run_tables(con: duckdb.DuckDBPyConnection, store: TagStore) -> None:
    """Empty span and run tables."""
    con.execute(f"create or replace table {store.span_table} ({_SPAN_DDL})")
    con.execute(f"create or replace table {store.run_table} ({_RUN_DDL})")


def build_runs(con: duckdb.DuckDBPyConnection, store: TagStore = DEFAULT_STORE) -> None:
    """(Re)build the spans and the runs of every tag of the map from the bitmap table.

    Each second gets its span's id where its span is found (a vehicle's span starts at one of its seconds, so
    (vehicle_id, start second) names it and the dense rank of that pair is the id); the runs then need no join
    back to the spans on the vehicle's text key."""
    create_run_tables(con, store)
    group = ", ".join(("vehicle_id",) + FILTER_COLUMNS + ("block_no",))
    con.execute(f"""
        create or replace temp table _span_second as
        select *, dense_rank() over (order by vehicle_id, span_start_s)::integer as span_id
        from (select *, min(ts_s) over (partition by {group}, island) as span_start_s
              from (select *, ts_s - row_number() over (partition by {group} order by ts_s) as island
                    from (select *, ts_s // {SPAN_BLOCK_S} as block_no from {store.table})))""")
    con.execute(f"""
        insert into {store.span_table}
        select span_id, dense_rank() over (order by vehicle_id), vehicle_id, {', '.join(FILTER_COLUMNS)},
               span_start_s, max(ts_s)
        from _span_second group by span_id, {group}, span_start_s order by 1""")
    words = con.execute(f"select max(word) + 1 from {store.map_table}").fetchone()[0] or 0
    word_of_tag = " ".join(f"when {w} then {word_column(w)}" for w in range(words))
    con.execute(f"""
        insert into {store.run_table}
        select tag_id, span_id, min(ts_s), max(ts_s)
        from (select m.tag_id, s.span_id, s.ts_s,
                     s.ts_s - row_number() over (partition by m.tag_id, s.span_id order by s.ts_s) as island
              from _span_second s
              join {store.map_table} m on ((case m.word {word_of_tag} end) & m.mask) <> 0)
        group by tag_id, span_id, island order by tag_id, span_id, min(ts_s)""")
    con.execute("drop table _span_second")


def write_tag_map(con: duckdb.DuckDBPyConnection, tags: tuple[Tag, ...], store: TagStore) -> None:
    """The tag map: tag, family, tag_id, word, bit, mask, rule, description."""
    con.execute(f"create or replace table {store.map_table} (tag VARCHAR primary key, family VARCHAR, "
                "tag_id INTEGER, word INTEGER, bit INTEGER, mask UBIGINT, rule VARCHAR, description VARCHAR)")
    rows = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?)" for _ in tags)
    con.execute(f"insert into {store.map_table} values {rows}",
                [v for t in tags for v in (t.name, t.family, t.tag_id, t.word, t.bit, t.mask, t.rule, t.description)])


def build_tag_store(con: duckdb.DuckDBPyConnection, tags: tuple[Tag, ...], feature_table: str,
                    store: TagStore = DEFAULT_STORE) -> None:
    """Check the rules, then (re)build the tag map, the bitmap table and the runs from ``feature_table``."""
    validate_rules(con, tags)
    write_tag_map(con, tags, store)
    con.execute(build_sql(tags, feature_table, store))
    build_runs(con, store)


def read_tag_map(con: duckdb.DuckDBPyConnection, store: TagStore = DEFAULT_STORE) -> dict[str, tuple[int, int]]:
    """Tag name -> (word, bit), as the store was built."""
    rows = con.execute(f"select tag, word, bit from {store.map_table}").fetchall()
    return {tag: (word, bit) for tag, word, bit in rows}
