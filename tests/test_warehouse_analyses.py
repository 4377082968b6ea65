"""The analysts' example queries (analyses/*.sql) compile and answer on the built test fleet: each is one
query on ADS and returns rows consistent with the ADS tables."""

from __future__ import annotations

import re

import duckdb
import pytest

from tests.fixtures.warehouse import PROJECT_DIR, run_dbt

ANALYSES = ["site_rates_yesterday", "autonomy_by_road_type", "version_mps_change", "top_cases_tonight"]


@pytest.fixture(scope="module")
def answers(dbt_warehouse, tmp_path_factory):
    target = tmp_path_factory.mktemp("analyses_target")
    run_dbt(["compile", "--select", "resource_type:analysis"], dbt_warehouse, target_dir=target)
    out = {}
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        for name in ANALYSES:
            (sql_file,) = target.glob(f"compiled/*/analyses/{name}.sql")
            sql = sql_file.read_text()
            assert " ads." in sql or '"ads".' in sql
            cur = con.execute(sql)
            out[name] = ([d[0] for d in cur.description], cur.fetchall())
    return out


def _rows(answers, name):
    columns, rows = answers[name]
    return [dict(zip(columns, r, strict=True)) for r in rows]


def test_site_rates_have_intervals_around_the_rate(answers):
    rows = _rows(answers, "site_rates_yesterday")
    assert len(rows) >= 2
    assert len({r["dt"] for r in rows}) == 1
    for r in rows:
        for metric in ("mps", "mpd_all", "mpd_resp"):
            assert r[f"{metric}_ci_low"] <= r[f"{metric}_per_10k_km"] <= r[f"{metric}_ci_high"]
        if r["n_takeover"]:
            assert r["mpi_ci_low"] <= r["mpi_km"] <= r["mpi_ci_high"]


def test_autonomy_by_road_type(answers):
    rows = _rows(answers, "autonomy_by_road_type")
    assert len(rows) >= 2
    assert all(0 <= r["autonomy_rate_km"] <= 1 and 0 <= r["autonomy_rate_time"] <= 1 for r in rows)


def test_version_mps_change_compares_with_the_baseline(answers):
    (row,) = _rows(answers, "version_mps_change")
    assert row["version"] != row["baseline_version"]
    assert 0 <= row["p_value"] <= 1
    assert row["is_significant"] == (row["p_value"] < 0.05)


def test_top_cases_tonight_in_queue_order(answers):
    rows = _rows(answers, "top_cases_tonight")
    assert 1 <= len(rows) <= 20
    ranks = [r["queue_rank"] for r in rows]
    assert ranks == sorted(ranks)
    priorities = [r["priority"] for r in rows]
    assert priorities == sorted(priorities, reverse=True)
    assert all(r["ts_start"] < r["ts_end"] and r["reason"] for r in rows)


def test_example_queries_follow_the_latest_day():
    """The docs' and the analyses' queries name no fixed day or version: a day filter is the latest day."""
    docs = (PROJECT_DIR / "docs/analysts.md").read_text().split("### Example queries")[1].split("\n### ")[0]
    queries = re.findall(r"```sql\n(.*?)```", docs, re.S)
    queries += [(PROJECT_DIR / "analyses" / f"{name}.sql").read_text() for name in ANALYSES]
    assert len(queries) >= 9
    for query in queries:
        assert not re.search(r"date '\d{4}-|'v\d+\.\d+|run_date", query), query
        if re.search(r"\bdt = ", query):
            assert re.search(r"dt = \(select max\((\w+\.)?dt\) from ", query), query
