"""Tag declarations (``seeds/tag_definitions.csv``: tag, family, rule, description) and their checks.

A tag's id is its row in the seed; it lives in bit ``id % 64`` of word ``w{id // 64}`` of the tag store. Every
rule must compile as a DuckDB boolean over the feature table (``fleetloop.mining.features``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from fleetloop.definitions import read_seed
from fleetloop.mining.features import create_feature_table_sql

SEED = "tag_definitions"
WORD_BITS = 64
FAMILIES = ("time_light", "weather", "road_map", "ego", "agents", "perception", "operations", "trigger")
# words of the mining language, never tag names
KEYWORDS = frozenset({"and", "or", "not", "then", "within", "for", "at", "least", "where", "in", "days", "to"})
TAG_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PROBE_TABLE = "_mining_feature_probe"


class TagDefinitionError(ValueError):
    """A tag declaration that cannot be used, named with its tag."""


@dataclass(frozen=True)
class Tag:
    """One declared tag and its place in the bitmap."""

    name: str
    family: str
    rule: str
    description: str
    tag_id: int

    @property
    def word(self) -> int:
        return self.tag_id // WORD_BITS

    @property
    def bit(self) -> int:
        return self.tag_id % WORD_BITS

    @property
    def mask(self) -> int:
        """The tag's bit as an unsigned 64-bit integer."""
        return 1 << self.bit


def word_count(tags: tuple[Tag, ...]) -> int:
    return -(-len(tags) // WORD_BITS)


def word_column(word: int) -> str:
    return f"w{word}"


def tags_from_rows(rows: tuple[dict[str, str], ...] | list[dict[str, str]]) -> tuple[Tag, ...]:
    """Tags from seed rows, in row order, with their names and families checked (rules: ``validate_rules``)."""
    tags: list[Tag] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        name, family, rule = row["tag"].strip(), row["family"].strip(), row["rule"].strip()
        if not TAG_NAME.fullmatch(name) or name in KEYWORDS:
            raise TagDefinitionError(f"tag {name!r}: a name is lower case letters, digits and '_', not a keyword")
        if name in seen:
            raise TagDefinitionError(f"tag {name!r} is declared twice")
        if family not in FAMILIES:
            raise TagDefinitionError(f"tag {name!r}: family {family!r} is not one of {', '.join(FAMILIES)}")
        if not rule or ";" in rule:
            raise TagDefinitionError(f"tag {name!r}: a rule is one SQL boolean expression")
        seen.add(name)
        tags.append(Tag(name, family, rule, row["description"].strip(), i))
    return tuple(tags)


def load_tags() -> tuple[Tag, ...]:
    """The declared tags of ``seeds/tag_definitions.csv``."""
    return tags_from_rows(read_seed(SEED))


def validate_rules(con: duckdb.DuckDBPyConnection, tags: tuple[Tag, ...]) -> None:
    """Compile every rule over an empty, typed feature table; raise ``TagDefinitionError`` naming the first tag
    whose rule does not compile or is not a boolean."""
    con.execute(f"drop table if exists {_PROBE_TABLE}")
    con.execute(create_feature_table_sql(_PROBE_TABLE, temporary=True))
    try:
        for tag in tags:
            try:
                described = con.execute(f"describe select ({tag.rule}) as v from {_PROBE_TABLE}").fetchall()
            except duckdb.Error as exc:
                raise TagDefinitionError(f"tag {tag.name!r}: rule {tag.rule!r} does not compile over the feature "
                                         f"table: {str(exc).splitlines()[0]}") from None
            if described[0][1] != "BOOLEAN":
                raise TagDefinitionError(f"tag {tag.name!r}: rule {tag.rule!r} is {described[0][1]}, not BOOLEAN")
    finally:
        con.execute(f"drop table if exists {_PROBE_TABLE}")
