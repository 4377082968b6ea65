"""The dbt project builds on an empty ODS (every unit test, contract and data test runs), and its ADS tables
carry exactly the columns and types their enforced contracts declare."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from fleetloop.ingest import ensure_ods_schema
from tests.fixtures.warehouse import PROJECT_DIR, run_dbt

ADS_TABLES = ["ads_fleet_overview_1d", "ads_site_health_1d", "ads_road_type_1d", "ads_version_compare",
              "ads_case_queue", "ads_ops_queue"]


@pytest.fixture(scope="module")
def empty_build(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("empty_ods") / "fleetloop.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_ods_schema(con)
    return path, run_dbt(["build"], path)


def _declared(model: str) -> dict:
    (yml,) = PROJECT_DIR.glob(f"models/ads/**/{model}.yml")
    (spec,) = yaml.safe_load(yml.read_text())["models"]
    return spec


def test_build_on_empty_ods_runs_unit_tests(empty_build):
    _, out = empty_build
    assert "unit_test" in out
    assert "ERROR=0" in out and "PASS=" in out


@pytest.mark.parametrize("model", ADS_TABLES)
def test_ads_contract_matches_table(empty_build, model):
    path, _ = empty_build
    spec = _declared(model)
    assert spec["config"]["contract"]["enforced"] is True
    assert all(c.get("description") for c in spec["columns"])
    with duckdb.connect(str(path), read_only=True) as con:
        actual = con.execute(
            "select column_name, lower(data_type) from information_schema.columns "
            "where table_schema = 'ads' and table_name = ? order by ordinal_position", [model]
        ).fetchall()
    assert actual == [(c["name"], c["data_type"]) for c in spec["columns"]]


def test_no_threshold_or_day_travels_as_a_dbt_var():
    """Thresholds live in the seeds and the run day in the event-time window: the project declares no vars and
    no model or macro reads one (a var in the parse state would also cost the partial parse)."""
    assert "vars" not in yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    readers = [str(p.relative_to(PROJECT_DIR)) for d in ("models", "macros") for p in (PROJECT_DIR / d).rglob("*.sql")
               if "var(" in p.read_text()]
    assert readers == []
