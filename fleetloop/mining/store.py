"""The bitmap tag store: per (vehicle_id, ts_s) the tags that hold, as bits of fixed-width ``UBIGINT`` words
``w0..wN``, beside the columns queries filter on; the tag-to-(word, bit) map is a small table beside it."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from fleetloop.mining.features import FILTER_COLUMNS, KEY_COLUMNS
from fleetloop.mining.tags import Tag, validate_rules, word_column, word_count


@dataclass(frozen=True)
class TagStore:
    """Where a tag store lives: the bitmap table and its tag map."""

    table: str = "dwd_second_tag"
    map_table: str = "dim_tag"


DEFAULT_STORE = TagStore()

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


def write_tag_map(con: duckdb.DuckDBPyConnection, tags: tuple[Tag, ...], store: TagStore) -> None:
    """The tag map: tag, family, tag_id, word, bit, mask, rule, description."""
    con.execute(f"create or replace table {store.map_table} (tag VARCHAR primary key, family VARCHAR, "
                "tag_id INTEGER, word INTEGER, bit INTEGER, mask UBIGINT, rule VARCHAR, description VARCHAR)")
    rows = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?)" for _ in tags)
    con.execute(f"insert into {store.map_table} values {rows}",
                [v for t in tags for v in (t.name, t.family, t.tag_id, t.word, t.bit, t.mask, t.rule, t.description)])


def build_tag_store(con: duckdb.DuckDBPyConnection, tags: tuple[Tag, ...], feature_table: str,
                    store: TagStore = DEFAULT_STORE) -> None:
    """Check the rules, then (re)build the tag map and the bitmap table from ``feature_table``."""
    validate_rules(con, tags)
    write_tag_map(con, tags, store)
    con.execute(build_sql(tags, feature_table, store))


def read_tag_map(con: duckdb.DuckDBPyConnection, store: TagStore = DEFAULT_STORE) -> dict[str, tuple[int, int]]:
    """Tag name -> (word, bit), as the store was built."""
    rows = con.execute(f"select tag, word, bit from {store.map_table}").fetchall()
    return {tag: (word, bit) for tag, word, bit in rows}
