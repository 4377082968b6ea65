"""The generated property files are current, they describe exactly the columns the built tables have, and the
descriptions reach DuckDB as comments (persist_docs); the hand-written ODS bookkeeping sources name exactly the
columns the loader creates."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from fleetloop.ingest import ensure_ods_schema
from tests.dbt.generated_yml import DWS_DIR, PROJECT_DIR, expected_files


def _declared_models(paths) -> dict[str, dict[str, str]]:
    """model -> {column: description} of the given property files."""
    models = {}
    for path in paths:
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = {c["name"]: c["description"] for c in model["columns"]}
    return models


def test_generated_files_are_current():
    expected = expected_files()
    stale = [str(p.relative_to(PROJECT_DIR)) for p, text in expected.items()
             if not p.is_file() or p.read_text() != text]
    assert stale == [], "run `python -m tests.dbt.generated_yml`"
    assert set(DWS_DIR.rglob("*.yml")) <= set(expected)


@pytest.fixture(scope="module")
def comments(dbt_warehouse) -> dict[str, dict[str, str | None]]:
    """DWS table -> {column: DuckDB comment} of the built test fleet."""
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        rows = con.execute("select table_name, column_name, comment from duckdb_columns() "
                           "where database_name = current_database() and schema_name = 'dws'").fetchall()
    tables: dict[str, dict[str, str | None]] = {}
    for table, column, comment in rows:
        tables.setdefault(table, {})[column] = comment
    return tables


def test_dws_docs_describe_the_built_columns_and_reach_duckdb(comments):
    declared = _declared_models(DWS_DIR.rglob("*.yml"))
    assert len(declared) == 22 and set(declared) == set(comments)
    for table, columns in declared.items():
        assert set(columns) == set(comments[table]), table
        assert {c: comments[table][c] for c in columns} == columns, table


def test_ads_table_comment_is_its_description(dbt_warehouse):
    (spec,) = yaml.safe_load((PROJECT_DIR / "models/ads/ads_case_queue.yml").read_text())["models"]
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        (comment,) = con.execute("select comment from duckdb_tables() where schema_name = 'ads' "
                                 "and table_name = 'ads_case_queue'").fetchone()
    assert comment == spec["description"]


def test_ods_bookkeeping_sources_name_the_loader_columns(tmp_path):
    (source,) = yaml.safe_load((PROJECT_DIR / "models/ods/_sources.yml").read_text())["sources"]
    declared = {t["name"]: [c["name"] for c in t.get("columns", [])] for t in source["tables"]}
    with duckdb.connect(str(tmp_path / "bookkeeping.duckdb")) as con:
        ensure_ods_schema(con)
        actual: dict[str, list[str]] = {}
        for table, column in con.execute("select table_name, column_name from duckdb_columns() "
                                         "where schema_name = 'ods' order by table_name, column_index").fetchall():
            actual.setdefault(table, []).append(column)
    assert set(declared) <= set(actual)
    for table in ("ods_quarantine", "ods_reconciliation", "ods_landing_manifest", "ods_load_history"):
        assert declared[table] == actual[table], table
