"""The suites on the simulated fleet: after the loader's quarantine every ODS table passes its suite on
the last day (it holds the late file of the day before), and the ADS tables of the dbt build pass theirs."""

import duckdb
import pytest

from fleetloop.contract import SOURCES
from fleetloop.quality import validate_table
from tests.fixtures.ods import ods_as_table
from tests.fixtures.warehouse import copy_warehouse, run_dbt

pytestmark = pytest.mark.slow
ADS_TABLES = ("ads_fleet_overview_1d", "ads_site_health_1d", "ads_case_queue", "ads_version_compare")


@pytest.fixture(scope="module")
def ods(ods_warehouse):
    with ods_warehouse.connect() as con:
        yield con


@pytest.mark.parametrize("source", list(SOURCES))
def test_ods_partitions_pass_their_suite(ods, ods_warehouse, source):
    table = SOURCES[source].ods_table
    result = validate_table(ods, f"ods.{table}", table, where=f"dt = date '{ods_warehouse.days[-1]}'")
    assert result.success, result.summary() + f"\n{result.failures}"
    assert result.rows > 0 or source in ("incident", "software_deployment")


@pytest.mark.parametrize("table", ADS_TABLES)
def test_ads_tables_pass_their_suite(dbt_warehouse, table):
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        result = validate_table(con, f"ads.{table}", table)
    assert result.success, result.summary() + f"\n{result.failures}"
    assert result.rows > 0


def test_a_duplicate_pose_key_fails_the_one_check_that_owns_it(ods_warehouse, dbt_warehouse, tmp_path):
    """The pose key's uniqueness is checked once, on ODS (the gate's suite, after the loader's de-duplication);
    dwd_pose_sample's test reads that result and only checks one row per ODS row of the day. A duplicate in ODS
    fails the gate; a row the model adds fails the model's test."""
    day = ods_warehouse.days[-1]
    path = copy_warehouse(dbt_warehouse, tmp_path / "ods_duplicate")
    with duckdb.connect(str(path)) as con:
        ods_as_table(con, "ods_pose")
        con.execute(f"insert into ods.ods_pose select * from ods.ods_pose where dt = date '{day}' limit 1")
        result = validate_table(con, "ods.ods_pose", "ods_pose", where=f"dt = date '{day}'")
    assert not result.success
    assert {(f["expectation"], f["unexpected_count"]) for f in result.failures} == {
        ("expect_compound_columns_to_be_unique", 2)}

    path = copy_warehouse(dbt_warehouse, tmp_path / "model_duplicate")
    run_dbt(["test", "--select", "dwd_pose_sample"], path)  # passes as built
    with duckdb.connect(str(path)) as con:
        con.execute(f"insert into dwd.dwd_pose_sample select * from dwd.dwd_pose_sample "
                    f"where dt = date '{day}' limit 1")
    with pytest.raises(RuntimeError, match="same_rows_as_ods"):
        run_dbt(["test", "--select", "dwd_pose_sample"], path)
