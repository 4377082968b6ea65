"""The nightly scorer on Spark (``fleetloop.scorer.spark_fanout``, local Spark) against the same night in
process: every row of the four scorer tables equal but the wall times, the same package bytes, and the
deadline's tail reported as not reached."""

from __future__ import annotations

import duckdb
import pytest

from fleetloop.scorer.nightly import NightlyConfig, run_nightly
from fleetloop.settings import Settings
from fleetloop.spark import spark_session
from tests.test_scorer_nightly import DAY, warehouse  # noqa: F401  (the hand-made warehouse fixture)

TIMINGS = {"solve_seconds"}  # wall clock, the one field that differs between runs


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    return spark_session(Settings.for_home(tmp_path_factory.mktemp("spark_scorer_home")))


def _without_timings(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {name: [{k: v for k, v in row.items() if k not in TIMINGS} for row in rows]
            for name, rows in tables.items()}


def test_the_night_on_spark_equals_the_night_in_process(warehouse, spark, tmp_path):  # noqa: F811
    cfg = NightlyConfig(seed=5, robustness_variants=4)
    with duckdb.connect(str(warehouse)) as con:
        local = run_nightly(con, DAY, tmp_path / "local", cfg)
        on_spark = run_nightly(con, DAY, tmp_path / "spark", cfg, spark)
    assert len(local["solutions"]) >= 3 and any(r["status"] == "improved" for r in local["solutions"])
    ours, theirs = _without_timings(on_spark), _without_timings(local)
    for rows in (*ours.values(), *theirs.values()):
        for row in rows:
            if row.get("package_path"):
                row["package_path"] = row["package_path"].split("/dt=")[1]  # the folders differ by design
    assert ours == theirs
    for row in local["solutions"]:
        if row["package_path"]:
            twin = (tmp_path / "spark" / row["package_path"].split("/local/")[1])
            assert twin.read_bytes() == open(row["package_path"], "rb").read()


def test_a_spent_budget_leaves_the_queue_unscored_and_reported(warehouse, spark, tmp_path):  # noqa: F811
    cfg = NightlyConfig(seed=5, robustness_variants=0, budget_s=0.0)
    with duckdb.connect(str(warehouse)) as con:
        tables = run_nightly(con, DAY, tmp_path / "p", cfg, spark)
    assert tables["solutions"] == [] and tables["not_reached"]
    assert all(r["cause"] == "time_budget" and "on Spark" in r["reason"] for r in tables["not_reached"])
