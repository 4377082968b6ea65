"""Incremental by day: building the test fleet day by day (`--event-time-start D --event-time-end D+1`) gives
exactly the tables of the full build, and re-running a day replaces it without double counting."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from tests.fixtures.warehouse import copy_warehouse, run_dbt

LAYERS = ("dwd", "dws", "ads")


def run_day_args(day: dt.date | str) -> list[str]:
    """The dbt flags that make a run build one UTC day (the event-time window [day, day + 1))."""
    day = dt.date.fromisoformat(str(day))
    return ["--event-time-start", day.isoformat(), "--event-time-end", (day + dt.timedelta(days=1)).isoformat()]


def _tables(con) -> list[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_catalog = current_database() and table_schema in {LAYERS} order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _checksum_sql(con, table: str) -> str:
    """Row count and an order-independent checksum of the table's rows (doubles rounded to 1e-6: parallel
    sums differ in the last bits between runs)."""
    schema, name = table.split(".")
    rows = con.execute("select column_name, data_type from information_schema.columns "
                       "where table_catalog = current_database() and table_schema = ? and table_name = ? "
                       "order by ordinal_position", [schema, name]).fetchall()
    cols = ", ".join(f'round("{c}", 6)' if t == "DOUBLE" else f'"{c}"' for c, t in rows)
    return f"select count(*), coalesce(sum(hash({cols}) // 2), 0) from {{db}}{table}"


def _differences(path_a, path_b) -> dict[str, tuple]:
    """Per table whose contents differ: ((rows, checksum) in a, (rows, checksum) in b)."""
    con = duckdb.connect(str(path_a), read_only=True)
    con.execute(f"attach '{path_b}' as other (read_only)")
    diffs = {}
    for table in _tables(con):
        sql = _checksum_sql(con, table)
        a = con.execute(sql.format(db="")).fetchone()
        b = con.execute(sql.format(db="other.")).fetchone()
        if a != b:
            diffs[table] = (a, b)
    con.close()
    return diffs


@pytest.fixture(scope="module")
def day_by_day(ods_warehouse, tmp_path_factory):
    path = copy_warehouse(ods_warehouse.path, tmp_path_factory.mktemp("incremental"))
    run_dbt(["seed"], path)
    for day in ods_warehouse.days:
        run_dbt(["run", *run_day_args(day)], path)
    return path


def test_day_by_day_build_equals_full_build(dbt_warehouse, day_by_day):
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        tables = _tables(con)
        assert con.execute("select count(*) from dwd.dwd_event").fetchone()[0] > 0
    assert len(tables) > 40
    assert _differences(dbt_warehouse, day_by_day) == {}


def test_rerunning_a_day_replaces_it(ods_warehouse, dbt_warehouse, day_by_day):
    rerun = "dwd_trg_hard_brake dwd_drive_mode_segment+ dwd_event+"
    run_dbt(["run", "--select", rerun, *run_day_args(ods_warehouse.days[0])], day_by_day)
    assert _differences(dbt_warehouse, day_by_day) == {}
