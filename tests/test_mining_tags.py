"""Tag declarations: the seed covers every family and trigger, every rule compiles, bad rules name their tag."""

from pathlib import Path

import pytest

from fleetloop.definitions import trigger_catalog
from fleetloop.mining.features import FEATURE_COLUMNS, feature_table_markdown, trigger_column
from fleetloop.mining.tags import FAMILIES, TagDefinitionError, load_tags, tags_from_rows, validate_rules
from fleetloop.warehouse import connect

DOCS = Path(__file__).resolve().parents[1] / "docs" / "mining.md"


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "tags.duckdb")
    yield c
    c.close()


def test_seed_declares_over_100_tags_in_every_family_and_every_trigger(con):
    tags = load_tags()
    validate_rules(con, tags)
    assert len(tags) >= 100
    assert {t.family for t in tags} == set(FAMILIES)
    rules = {t.rule for t in tags if t.family == "trigger"}
    assert rules == {trigger_column(name) for name in trigger_catalog()}
    bands = [t.name for t in tags if t.name.startswith("speed_") and t.name.endswith("kmh")]
    assert len(bands) == 12  # 0..120 km/h in 10 km/h steps, then speed_120kmh_plus


def test_unknown_column_is_an_error_naming_the_tag(con):
    rows = [{"tag": "rain", "family": "weather", "rule": "weather = 'rain'", "description": ""},
            {"tag": "wet_road", "family": "weather", "rule": "road_wetness > 0.5", "description": ""}]
    with pytest.raises(TagDefinitionError, match="tag 'wet_road'.*road_wetness"):
        validate_rules(con, tags_from_rows(rows))


def test_a_rule_that_is_not_a_boolean_is_rejected(con):
    rows = [{"tag": "fast", "family": "ego", "rule": "speed_mps * 3.6", "description": ""}]
    with pytest.raises(TagDefinitionError, match="tag 'fast'.*DOUBLE, not BOOLEAN"):
        validate_rules(con, tags_from_rows(rows))


@pytest.mark.parametrize(("row", "message"), [
    ({"tag": "and", "family": "ego", "rule": "true"}, "not a keyword"),
    ({"tag": "Rain", "family": "weather", "rule": "true"}, "lower case"),
    ({"tag": "x", "family": "mood", "rule": "true"}, "family 'mood'"),
    ({"tag": "x", "family": "ego", "rule": "true; drop table t"}, "one SQL boolean"),
])
def test_malformed_declarations_are_rejected(row, message):
    with pytest.raises(TagDefinitionError, match=message):
        tags_from_rows([row | {"description": ""}])


def test_duplicate_tag_is_rejected():
    row = {"tag": "rain", "family": "weather", "rule": "weather = 'rain'", "description": ""}
    with pytest.raises(TagDefinitionError, match="declared twice"):
        tags_from_rows([row, row])


def test_the_feature_table_in_the_docs_is_the_declared_one():
    text = DOCS.read_text(encoding="utf-8")
    assert feature_table_markdown() in text
    assert len({c.name for c in FEATURE_COLUMNS}) == len(FEATURE_COLUMNS)
