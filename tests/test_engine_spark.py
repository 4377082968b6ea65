"""One dbt project, two engines: what Spark builds from the lake equals what DuckDB builds from the same ODS.

The oracle is the DuckDB build of the test fleet (``dbt_warehouse``, itself checked against the simulator's
truth and the numpy reference): every model that runs on Spark (``tests.fixtures.spark``) must hold the same
rows, floats within 1e-9 relative. Spark's tables are read from their Parquet files by DuckDB, as an analyst's
file would be."""

from __future__ import annotations

import datetime as dt
import json
import math

import duckdb
import pytest

pytestmark = pytest.mark.slow

REL_TOL = 1e-9


def differing_rows(spark_warehouse, warehouse, table: str) -> tuple[list[str], list[tuple], list[tuple], int, int]:
    """Columns, the rows of a Spark table that DuckDB's table lacks and those it has in excess (multisets, exact
    values), and both row counts. Spark's table is read from its Parquet files (dt from the partition folders):
    the exact comparison runs in DuckDB, so only the rows that differ by float noise or JSON spelling reach
    Python."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{warehouse}' as oracle (read_only)")
        con.execute(f"create temp view on_spark as select * from read_parquet("
                    f"'{spark_warehouse.location(table)}/**/*.parquet', hive_partitioning = true, "
                    "hive_types_autocast = true)")
        columns = [c[0] for c in con.execute("describe on_spark").fetchall()]
        con.execute(f"create temp view on_duckdb as select {', '.join(columns)} from oracle.{table}")
        only_spark = con.sql("select * from on_spark except all select * from on_duckdb").fetchall()
        only_duckdb = con.sql("select * from on_duckdb except all select * from on_spark").fetchall()
        (n_spark,), (n_duckdb,) = (con.execute(f"select count(*) from {v}").fetchone()
                                   for v in ("on_spark", "on_duckdb"))
    return columns, only_spark, only_duckdb, n_spark, n_duckdb


def assert_same_table(spark_warehouse, warehouse, table: str) -> None:
    columns, only_spark, only_duckdb, n_spark, n_duckdb = differing_rows(spark_warehouse, warehouse, table)
    assert n_spark == n_duckdb, f"{table}: {n_spark} rows on Spark, {n_duckdb} on DuckDB"
    assert_same_rows(only_spark, only_duckdb, columns, table)


def _canonical(value):
    """A timestamp as naive UTC (DuckDB's are TIMESTAMPTZ) and a JSON object text parsed (the engines print
    numbers differently: 6e-4 vs 6.0E-4)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, str) and value.startswith("{"):
        return json.loads(value)
    return value


def _same_value(a, b) -> bool:
    a, b = _canonical(a), _canonical(b)
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    return a == b


def _sort_key(row: tuple) -> tuple:
    # floats rounded so that rows differing by float noise sort alike; JSON by its parsed text; None first
    def key(v):
        v = _canonical(v)
        if isinstance(v, float):
            return f"{v:.6g}"
        return json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict) else str(v)
    return tuple((v is not None, key(v)) for v in row)


def assert_same_rows(got: list[tuple], want: list[tuple], columns: list[str], table: str) -> None:
    assert len(got) == len(want), f"{table}: {len(got)} rows on Spark, {len(want)} on DuckDB"
    for g, w in zip(sorted(got, key=_sort_key), sorted(want, key=_sort_key), strict=True):
        differing = [c for c, x, y in zip(columns, g, w, strict=True) if not _same_value(x, y)]
        assert not differing, f"{table}: {differing} differ: Spark {g} vs DuckDB {w}"


ADS_TABLES = ["ads.ads_case_queue", "ads.ads_fleet_overview_1d", "ads.ads_ops_queue", "ads.ads_road_type_1d",
              "ads.ads_scene_rate", "ads.ads_site_health_1d", "ads.ads_version_compare"]


def test_spark_builds_every_ads_table_from_the_lake(spark_warehouse):
    tables = set(spark_warehouse.tables())
    assert set(ADS_TABLES) <= tables
    assert {"dwd.dwd_event", "dwd.dwd_case", "dwd.dwd_second_feature", "dws.dws_slice_1d",
            "ref.trigger_definitions"} <= tables


def test_every_spark_table_equals_duckdb(spark_warehouse, dbt_warehouse):
    for table in spark_warehouse.tables():
        assert_same_table(spark_warehouse, dbt_warehouse, table)


def test_a_day_rebuilt_on_spark_replaces_itself(spark_warehouse, dbt_warehouse, ods_warehouse):
    daily = [t for t in spark_warehouse.tables()
             if not t.startswith("ref.") and "dt" in spark_warehouse.session.table(t).columns]
    count = "select dt, count(*) as n from {} group by dt order by dt"
    spark_warehouse.run_day(ods_warehouse.days[0])
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        for table in daily:  # every day still holds DuckDB's rows, nothing doubled, nothing lost
            got = [tuple(r) for r in spark_warehouse.session.sql(count.format(table)).collect()]
            assert got == con.execute(count.format(table)).fetchall() and got, table
    for table in ("dwd.dwd_event", "dwd.dwd_case", "ads.ads_fleet_overview_1d"):
        assert_same_table(spark_warehouse, dbt_warehouse, table)
