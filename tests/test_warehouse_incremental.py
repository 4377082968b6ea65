"""Incremental by day: building the test fleet day by day (`--vars {run_date: ...}`) gives exactly the tables
of the full build, and re-running a day replaces it without double counting."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.fixtures.warehouse import copy_warehouse, run_dbt

LAYERS = ("dwd", "dws", "ads")


def _tables(con) -> list[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in {LAYERS} order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con, table: str) -> str:
    """The table's columns, doubles rounded to 1e-6: parallel sums differ in the last bits between runs."""
    schema, name = table.split(".")
    rows = con.execute("select column_name, data_type from information_schema.columns "
                       "where table_schema = ? and table_name = ? order by ordinal_position", [schema, name]).fetchall()
    return ", ".join(f'round("{c}", 6)' if t == "DOUBLE" else f'"{c}"' for c, t in rows)


def _differences(path_a, path_b) -> dict[str, tuple[int, int, int]]:
    """Per table: (rows in a, rows only in a, rows only in b), for the tables whose contents differ."""
    con = duckdb.connect(str(path_a), read_only=True)
    con.execute(f"attach '{path_b}' as other (read_only)")
    diffs = {}
    for table in _tables(con):
        cols = _columns(con, table)
        n = con.execute(f"select count(*) from {table}").fetchone()[0]
        a = f"select {cols} from {table}"
        b = f"select {cols} from other.{table}"
        only_a = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
        only_b = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
        if only_a or only_b:
            diffs[table] = (n, only_a, only_b)
    con.close()
    return diffs


@pytest.fixture(scope="module")
def day_by_day(ods_warehouse, tmp_path_factory):
    path = copy_warehouse(ods_warehouse.path, tmp_path_factory.mktemp("incremental"))
    run_dbt(["seed"], path)
    for day in ods_warehouse.days:
        run_dbt(["run", "--vars", json.dumps({"run_date": day.isoformat()})], path)
    return path


def test_day_by_day_build_equals_full_build(dbt_warehouse, day_by_day):
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        tables = _tables(con)
        assert con.execute("select count(*) from dwd.dwd_event").fetchone()[0] > 0
    assert len(tables) > 40
    assert _differences(dbt_warehouse, day_by_day) == {}


def test_rerunning_a_day_replaces_it(ods_warehouse, dbt_warehouse, day_by_day):
    first = ods_warehouse.days[0].isoformat()
    run_dbt(["run", "--vars", json.dumps({"run_date": first})], day_by_day)
    assert _differences(dbt_warehouse, day_by_day) == {}
