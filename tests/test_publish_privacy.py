"""The analysts' file built from a real working warehouse (the simulated fleet after `dbt build`) leaks no
operator id, transcript or quarantined line; pseudonyms are HMAC-SHA256 under the installation's key, stable
across publications, different under another key; rebuilding does not grow the file; the report still works."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest

from fleetloop.contract import SOURCES
from fleetloop.publish import (
    KEY_BYTES,
    KEY_FILE,
    OPERATOR_ID,
    PSEUDONYM_HEX_DIGITS,
    PSEUDONYM_PREFIX,
    connect_published,
    publish,
)
from fleetloop.settings import Settings
from fleetloop.warehouse import connect
from tests.fixtures.ods import lake_of
from tests.fixtures.warehouse import copy_warehouse

OPERATOR_TABLES = [s.ods_table for s in SOURCES.values() if OPERATOR_ID in s.fields_by_name]
ANALYST_SCHEMAS = {"ads", "dws", "dwd", "ref", "quality", "meta"}  # scorer: not run on this fixture
GROWTH_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def home(dbt_warehouse, tmp_path_factory) -> Settings:
    """An installation around a private copy of the built warehouse, published once."""
    root = tmp_path_factory.mktemp("publish_privacy")
    settings = Settings.for_home(root, warehouse=copy_warehouse(dbt_warehouse, root / "warehouse"))
    publish(settings, "first")
    return settings


def _working_values(settings: Settings, sql: str) -> list[str]:
    con = connect(settings.warehouse, settings, read_only=True)
    try:
        return [r[0] for r in con.execute(sql).fetchall()]
    finally:
        con.close()


def _operator_ids(settings: Settings) -> list[str]:
    union = " union ".join(f"select {OPERATOR_ID} from ods.{t}" for t in OPERATOR_TABLES)
    return _working_values(settings, f"select distinct {OPERATOR_ID} from ({union}) order by 1")


def _columns_containing(published: Path, needles: list[str]) -> dict[str, int]:
    """Per published text column (VARCHAR, JSON, lists and structs of them), how many of its distinct values
    hold any needle; numeric and time columns cannot hold one."""
    con = connect_published(published)
    try:
        con.execute("create temp table needles as select unnest(?::varchar[]) as needle", [needles])
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() where database_name = "
            "current_database() and (data_type like '%VARCHAR%' or data_type like '%JSON%' "
            "or data_type like 'STRUCT%' or data_type like 'MAP%')").fetchall()
        assert columns
        hits = {}
        for schema, table, column in columns:
            values = f'select distinct "{column}"::varchar as v from "{schema}"."{table}"'
            n = con.execute(f"select count(*) from ({values}) where exists "
                            "(select 1 from needles where contains(v, needle))").fetchone()[0]
            if n:
                hits[f"{schema}.{table}.{column}"] = n
        return hits
    finally:
        con.close()


def _oracle(key: bytes, operator_id: str) -> str:
    return PSEUDONYM_PREFIX + hmac.new(key, operator_id.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_DIGITS]


def _takeover_operators(published: Path) -> dict[str, str]:
    con = connect_published(published)
    try:
        return dict(con.execute(f"select takeover_id, {OPERATOR_ID} from dwd.dwd_takeover").fetchall())
    finally:
        con.close()


def test_contract_names_every_operator_id_column_as_publication_does():
    named = {f.name for s in SOURCES.values() for f in s.fields if "operator" in f.description.lower()
             and f.name.endswith("_id")}
    assert named == {OPERATOR_ID} and len(OPERATOR_TABLES) >= 2


def test_no_operator_id_of_the_working_file_anywhere_in_the_published_file(home):
    ids = _operator_ids(home)
    assert len(ids) >= 3, "the fixture fleet has takeovers and notes by several operators"
    working_dwd = _working_values(home, f"select count(*) from dwd.dwd_takeover where {OPERATOR_ID} is not null")
    assert working_dwd[0] > 0, "the working DWD holds operator ids in clear: the scan below has something to find"
    assert _columns_containing(home.published, ids) == {}


def test_pseudonyms_are_hmac_sha256_under_the_key_in_every_table(home):
    key = (home.secrets / KEY_FILE).read_bytes()
    con = connect(home.warehouse, home, read_only=True)
    try:
        takeovers = dict(con.execute(f"select takeover_id, {OPERATOR_ID} from dwd.dwd_takeover").fetchall())
        notes = con.execute(f"select vehicle_id, ts, {OPERATOR_ID}, keyword_tags from dwd.dwd_asr_note").fetchall()
    finally:
        con.close()
    assert _takeover_operators(home.published) == {t: _oracle(key, op) for t, op in takeovers.items()}
    pub = connect_published(home.published)
    try:
        published_notes = pub.execute(f"select vehicle_id, ts, {OPERATOR_ID}, keyword_tags from dwd.dwd_asr_note"
                                      ).fetchall()
        attrs = [json.loads(a) for (a,) in pub.execute(
            "select attributes from dwd.dwd_event where trigger = 'asr_keyword'").fetchall()]
    finally:
        pub.close()
    expected_notes = sorted((v, ts, _oracle(key, op), tags) for v, ts, op, tags in notes)
    assert sorted(published_notes) == expected_notes, "same notes, same keyword hits, operator pseudonymised"
    assert attrs and all(a[OPERATOR_ID].startswith(PSEUDONYM_PREFIX) for a in attrs)
    assert {a[OPERATOR_ID] for a in attrs} <= {_oracle(key, op) for _, _, op, _ in notes}
    assert len(set(takeovers.values())) == len(set(_takeover_operators(home.published).values())), "no collision"


def test_transcripts_and_quarantined_lines_stay_in_the_working_file(home):
    texts = _working_values(home, "select distinct text from ods.ods_asr_note where length(text) > 0")
    raw = _working_values(home, "select distinct raw_text from ods.ods_quarantine where length(raw_text) >= 20")
    assert texts and raw
    assert _columns_containing(home.published, texts + raw) == {}
    con = connect_published(home.published)
    try:
        schemas = {r[0] for r in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        note_columns = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where table_name = 'dwd_asr_note'").fetchall()]
        by_reason = con.execute("select sum(rows_quarantined) from quality.quarantine_by_reason").fetchone()[0]
        reason_columns = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where table_name = 'quarantine_by_reason'").fetchall()]
    finally:
        con.close()
    assert schemas == ANALYST_SCHEMAS, "no ODS schema"
    assert "text" not in note_columns and "keyword_tags" in note_columns
    assert reason_columns == ["dt", "source", "reason_code", "rows_quarantined"]
    assert by_reason == _working_values(home, "select count(*) from ods.ods_quarantine")[0]


def test_key_is_private_and_never_in_the_published_file(home):
    key_path = home.secrets / KEY_FILE
    key = key_path.read_bytes()
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600 and stat.S_IMODE(home.secrets.stat().st_mode) == 0o700
    data = home.published.read_bytes()
    assert key not in data and key.hex().encode() not in data
    assert stat.S_IMODE(home.warehouse.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.warehouse.parent.stat().st_mode) == 0o700


def test_pseudonyms_stable_across_publications_and_different_under_another_key(home, tmp_path):
    before = _takeover_operators(home.published)
    publish(home, "second")
    assert _takeover_operators(home.published) == before
    other = Settings.for_home(tmp_path / "other", warehouse=home.warehouse)
    publish(other, "other-key")
    elsewhere = _takeover_operators(other.published)
    assert elsewhere.keys() == before.keys()
    assert not set(elsewhere.values()) & set(before.values())


def test_rebuilt_file_does_not_grow_and_is_smaller_than_the_working_data(home, ods_warehouse):
    once = home.published.stat().st_size  # a full build already: every publication starts from nothing
    publish(home, "size-2")
    publish(home, "size-3")
    assert home.published.stat().st_size <= once * (1 + GROWTH_TOLERANCE)
    # the working data, ODS in the lake included, is more than the analysts' copy (no ODS, no quarantined lines)
    lake_bytes = sum(p.stat().st_size for p in lake_of(ods_warehouse.path).rglob("*.parquet"))
    assert once < home.warehouse.stat().st_size + lake_bytes


def test_report_and_overview_read_the_published_file(home, tmp_path):
    from fleetloop.report.html import write_report
    from fleetloop.report.overview import overview_text

    assert "MPS per 10k km" in overview_text(home.published)
    html = write_report(home.published, tmp_path / "report.html").read_text()
    reason = _working_values(home, "select reason_code from ods.ods_quarantine group by 1 order by count(*) desc")[0]
    assert "Data quality" in html and reason in html


def test_descriptions_travel_with_the_published_file(home):
    """dbt's persist_docs comments of the working file are on the analysts' copy, table and column alike."""
    sql = ("select schema_name || '.' || table_name || '.' || column_name, comment from duckdb_columns() "
           "where database_name = current_database() and schema_name = 'ads' and comment is not null")
    working = dict(_working_values_pairs(home.warehouse, sql))
    published = dict(_working_values_pairs(home.published, sql))
    assert working and published == working
    table_sql = ("select table_name, comment from duckdb_tables() where database_name = current_database() "
                 "and schema_name = 'ads' and comment is not null")
    assert dict(_working_values_pairs(home.published, table_sql)) == dict(_working_values_pairs(home.warehouse,
                                                                                                 table_sql))


def _working_values_pairs(path: Path, sql: str) -> list[tuple]:
    con = connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
