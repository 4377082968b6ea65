"""Real Dagster materialisations of the ODS assets (dg.materialize with the warehouse resource)."""

import json

import dagster as dg
import pytest

from dagster_pipelines.definitions import build_definitions
from dagster_pipelines.ods.assets import build_ods_assets
from dagster_pipelines.partitions import daily_partitions
from dagster_pipelines.resources import WarehouseResource
from fleetloop import lake
from fleetloop.contract import SOURCES
from fleetloop.paths import partition_dir
from fleetloop.settings import Settings
from tests.fixtures.ods import HAND_DAY, heartbeat_record, write_lines


@pytest.fixture()
def landing(tmp_path):
    root = tmp_path / "landing"
    lines = [json.dumps(heartbeat_record(s)) for s in range(30)]
    lines[4] = lines[3]                       # duplicate
    lines[10] = lines[10][:20]                # malformed
    write_lines(root, "heartbeat", HAND_DAY, "part-000.jsonl", lines)
    write_lines(root, "vehicle_call", HAND_DAY, "calls.jsonl",
                [json.dumps({"ts": f"{HAND_DAY}T10:00:00+02:00", "vehicle_id": "veh_a", "call_type": "call_driver",
                             "reason": "blocked"})])
    return root


def test_one_asset_per_source_in_the_ods_group(landing):
    partitions = daily_partitions(Settings.for_home(landing.parent))
    ods_assets = build_ods_assets(partitions)
    keys = {a.key for a in ods_assets}
    assert keys == {dg.AssetKey(["ods", s.ods_table]) for s in SOURCES.values()}
    assert all(a.partitions_def == partitions for a in ods_assets)
    assert {g for a in ods_assets for g in a.group_names_by_key.values()} == {"ods"}


def test_materialising_a_partition_loads_and_reports_reconciliation(landing, tmp_path):
    settings = Settings.for_home(tmp_path, landing=landing)
    for name in SOURCES:  # every source landed that day (quiet sources with an empty folder)
        partition_dir(landing, name, HAND_DAY).mkdir(parents=True, exist_ok=True)
    result = dg.materialize(
        build_ods_assets(daily_partitions(settings)), partition_key=HAND_DAY.isoformat(),
        resources={"warehouse": WarehouseResource.from_settings(settings)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    meta = {e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}
    assert set(meta) == {s.ods_table for s in SOURCES.values()}
    assert {k: meta["ods_heartbeat"][k] for k in ("files", "rows_read", "rows_loaded", "rows_quarantined",
                                                   "rows_duplicate", "rows_unaccounted")} == \
        {"files": 1, "rows_read": 30, "rows_loaded": 28, "rows_quarantined": 1, "rows_duplicate": 1,
         "rows_unaccounted": 0}
    assert meta["ods_vehicle_call"]["rows_loaded"] == 1 and meta["ods_pose"]["rows_read"] == 0
    assert not settings.warehouse.exists()  # the loads write the lake only
    with lake.session(settings.lake, ods=True) as con:
        assert con.execute("select count(*) from ods.ods_heartbeat").fetchone()[0] == 28
        assert con.execute("select hour(ts) from ods.ods_vehicle_call").fetchone()[0] == 8
        recon = con.execute("select source, rows_read, rows_loaded from ods.ods_reconciliation "
                            "where source = 'heartbeat'").fetchall()
    assert recon == [("heartbeat", 30, 28)]


def test_resource_is_the_settings_of_the_edge(tmp_path):
    """The code location's settings reach the resource unchanged, and its connections are UTC and bounded."""
    env = {"FLEETLOOP_HOME": str(tmp_path / "home"), "FLEETLOOP_WAREHOUSE": str(tmp_path / "other.duckdb"),
           "FLEETLOOP_DUCKDB_MEMORY_LIMIT": "1GB", "FLEETLOOP_MAX_QUARANTINE_SHARE": "0.1"}
    settings = Settings.from_env(env)
    res = build_definitions(settings).resources["warehouse"]
    assert res.settings == settings
    assert res.landing_path == tmp_path / "home" / "landing"
    assert res.settings.warehouse == tmp_path / "other.duckdb"
    with res.connect() as con:
        assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] in ("1.0 GiB", "953.6 MiB")
    assert res.settings.warehouse.is_file()


def test_partitions_start_at_the_first_landed_day(landing, tmp_path):
    assert daily_partitions(Settings.for_home(tmp_path)).timezone == "UTC"
    assert daily_partitions(Settings.for_home(tmp_path, landing=landing)).get_first_partition_key() == \
        HAND_DAY.isoformat()
    start = daily_partitions(Settings.from_env({"FLEETLOOP_START_DATE": "2025-06-01", "FLEETLOOP_HOME": str(tmp_path)}))
    assert start.get_first_partition_key() == "2025-06-01"
