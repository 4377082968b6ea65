"""`FLEETLOOP_ENGINE=spark fleetloop demo`: the whole pipeline on local Spark (ODS on the lake, dbt on Spark, its
tables copied into the working DuckDB file, the tag store published to the lake for Spark's all-days models, the
scorer's replays as Spark tasks) publishes the same numbers as the default DuckDB run of the same tiny fleet: the
overview prints identically and every ADS table of the published files holds the same rows."""

from __future__ import annotations

import math
import subprocess
import sys

import duckdb
import pytest

from fleetloop.settings import Settings

pytestmark = pytest.mark.slow

DEMO_ARGS = ["demo", "--vehicles", "2", "--days", "1", "--hours-per-day", "1", "--start", "2026-11-30"]
REL_TOL = 1e-9
RUN_LINE_PREFIXES = ("fleetloop overview", "published ")  # the file's path, the publication's time and run id


def _demo(home, engine: str) -> tuple[Settings, list[str]]:
    settings = Settings.for_home(home, engine=engine)
    proc = subprocess.run([sys.executable, "-m", "fleetloop_shell.cli", "--home", str(home), *DEMO_ARGS],
                          env=settings.subprocess_env() | {"OPENBLAS_NUM_THREADS": "1"}, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return settings, proc.stdout.splitlines()


def _overview(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if "overview of the published warehouse" in line)
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("["))
    return [line for line in lines[start + 1:end] if not line.startswith(RUN_LINE_PREFIXES)]


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    return {engine: _demo(tmp_path_factory.mktemp(engine) / "home", engine) for engine in ("duckdb", "spark")}


def test_the_spark_demo_prints_the_same_overview(demos):
    duckdb_overview, spark_overview = (_overview(demos[e][1]) for e in ("duckdb", "spark"))
    assert len(duckdb_overview) > 20
    assert spark_overview == duckdb_overview


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=REL_TOL) or (math.isnan(a) and math.isnan(b))
    return a == b


def test_every_published_ads_table_holds_the_same_rows(demos):
    (duckdb_settings, _), (spark_settings, _) = demos["duckdb"], demos["spark"]
    with duckdb.connect() as con:
        con.execute(f"attach '{duckdb_settings.published}' as a (read_only)")
        con.execute(f"attach '{spark_settings.published}' as b (read_only)")
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = 'a' "
                                            "and schema_name = 'ads' order by 1").fetchall()]
        assert len(tables) > 10
        for table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where database_name = 'a' and schema_name = 'ads' "
                "and table_name = ? order by column_index", [table]).fetchall()]
            order = ", ".join(f"{i + 1}" for i in range(len(columns)))
            rows_a, rows_b = (con.execute(f"select {', '.join(columns)} from {db}.ads.{table} order by {order}")
                              .fetchall() for db in ("a", "b"))
            assert len(rows_a) == len(rows_b), table
            for row_a, row_b in zip(rows_a, rows_b, strict=True):
                assert all(_same(x, y) for x, y in zip(row_a, row_b, strict=True)), (table, row_a, row_b)
