"""The suites on the simulated fleet: after the loader's quarantine every ODS table passes its suite on
the last day (it holds the late file of the day before), and the ADS tables of the dbt build pass theirs."""

import duckdb
import pytest

from fleetloop.contract import SOURCES
from fleetloop.quality import validate_table

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
