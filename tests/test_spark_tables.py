"""Spark's tables copied into the working DuckDB file (``fleetloop.spark_tables``): what dbt's artifacts say was
built, and each table refilled from a Spark-style folder (partition folders, bookkeeping files) with the DuckDB
table's own types. The Spark-written case runs in ``tests/test_demo_spark.py``."""

from __future__ import annotations

import datetime as dt

import pytest

from fleetloop.settings import Settings
from fleetloop.spark_tables import built_relations, copy_spark_tables, table_folder
from fleetloop.warehouse import connect


def test_built_relations_are_the_seeds_and_models_that_succeeded():
    manifest = {"nodes": {
        "model.fleetloop.dwd_event": {"resource_type": "model", "schema": "dwd", "name": "dwd_event"},
        "model.fleetloop.dws_site_1d": {"resource_type": "model", "schema": "dws", "name": "dws_site_1d",
                                        "alias": "dws_site_1d"},
        "seed.fleetloop.sites": {"resource_type": "seed", "schema": "ref", "name": "sites"},
        "test.fleetloop.unique_x": {"resource_type": "test", "schema": "dwd", "name": "unique_x"},
        "model.fleetloop.dwd_case": {"resource_type": "model", "schema": "dwd", "name": "dwd_case"},
    }}
    run_results = {"results": [
        {"unique_id": "model.fleetloop.dwd_event", "status": "success"},
        {"unique_id": "model.fleetloop.dws_site_1d", "status": "success"},
        {"unique_id": "seed.fleetloop.sites", "status": "success"},
        {"unique_id": "test.fleetloop.unique_x", "status": "pass"},
        {"unique_id": "model.fleetloop.dwd_case", "status": "error"},
    ]}
    assert built_relations(run_results, manifest) == [("dwd", "dwd_event"), ("dws", "dws_site_1d"), ("ref", "sites")]


@pytest.fixture()
def warehouse(tmp_path):
    settings = Settings.for_home(tmp_path / "home", engine="spark")
    con = connect(settings.warehouse, settings)
    con.execute("create schema dwd")
    con.execute("create table dwd.detail (dt date, vehicle_id varchar, speed_mps double, n bigint, "
                "attributes json, ts timestamptz)")
    con.execute("insert into dwd.detail values ('2026-11-01', 'stale', 0, 0, '{}', '2026-11-01 00:00:00+00')")
    con.execute("create table dwd.empty_one (dt date, n bigint)")
    yield settings, con
    con.close()


def _write_spark_table(con, folder, days: dict[str, list[tuple]]) -> None:
    """A table as Spark leaves it: one folder per dt, part files with Spark's types (int, string), a _SUCCESS
    marker and checksum files that are not data."""
    folder.mkdir(parents=True)
    (folder / "_SUCCESS").write_text("")
    for day, rows in days.items():
        part = folder / f"dt={day}"
        part.mkdir()
        values = ", ".join(f"('{v}', {s}, {n}::integer, '{a}', '{t}'::timestamptz)" for v, s, n, a, t in rows)
        con.execute(f"copy (select * from (values {values}) as t(vehicle_id, speed_mps, n, attributes, ts)) "
                    f"to '{part / 'part-00000-abc.c000.snappy.parquet'}' (format parquet)")
        (part / ".part-00000-abc.c000.snappy.parquet.crc").write_bytes(b"\x00crc")


def test_a_spark_table_replaces_the_duckdb_rows_with_duckdb_types(warehouse):
    settings, con = warehouse
    _write_spark_table(con, table_folder(settings, "dwd", "detail"), {
        "2026-11-02": [("AV0001", 1.5, 3, '{"k":6.0E-4}', "2026-11-02 08:00:00+00")],
        "2026-11-03": [("AV0002", 2.5, 4, '{"k":1}', "2026-11-03 09:30:00+00"),
                       ("AV0003", 0.0, 5, '{}', "2026-11-03 10:00:00+00")]})
    table_folder(settings, "dwd", "empty_one").mkdir(parents=True)

    rows = copy_spark_tables(con, settings, [("dwd", "detail"), ("dwd", "empty_one")])

    assert rows == {"dwd.detail": 3, "dwd.empty_one": 0}
    got = con.execute("select dt, vehicle_id, n, attributes ->> 'k', ts from dwd.detail order by vehicle_id").fetchall()
    assert [r[:4] for r in got] == [(dt.date(2026, 11, 2), "AV0001", 3, "0.0006"),
                                    (dt.date(2026, 11, 3), "AV0002", 4, "1"), (dt.date(2026, 11, 3), "AV0003", 5, None)]
    assert got[0][4] == dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC)
    types = dict(con.execute("select column_name, data_type from duckdb_columns() where table_name = 'detail'")
                 .fetchall())
    assert types["n"] == "BIGINT" and types["attributes"] == "JSON" and types["dt"] == "DATE"


def test_a_table_spark_built_without_a_folder_is_an_error(warehouse):
    settings, con = warehouse
    with pytest.raises(FileNotFoundError, match="dwd.detail"):
        copy_spark_tables(con, settings, [("dwd", "detail")])
    assert con.execute("select count(*) from dwd.detail").fetchone()[0] == 1  # untouched
