"""The dbt models as Dagster assets: keys per layer wired to the ODS asset keys, dbt tests as asset checks,
and a materialised daily partition of a few assets (a real `dbt build --vars {run_date: day}`) leaving the
warehouse equal to the full build."""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_pipelines.partitions import daily_partitions
from tests.fixtures.warehouse import copy_warehouse
from tests.test_warehouse_incremental import _differences


@pytest.fixture(scope="module")
def assets():
    from dagster_pipelines.warehouse import warehouse_assets

    return warehouse_assets


def test_asset_keys_per_layer_and_ods_dependencies(assets):
    keys = set(assets.keys)
    for key in (["dwd", "dwd_event"], ["dwd", "dwd_case"], ["dws", "dws_site_1d"], ["ads", "ads_case_queue"],
                ["ads", "ads_version_compare"], ["ref", "trigger_definitions"]):
        assert dg.AssetKey(key) in keys
    deps = {d for dep_set in assets.asset_deps.values() for d in dep_set}
    assert dg.AssetKey(["ods", "ods_pose"]) in deps and dg.AssetKey(["ods", "ods_heartbeat"]) in deps
    assert assets.partitions_def == daily_partitions
    checks = list(assets.check_keys)
    assert any(c.asset_key == dg.AssetKey(["dwd", "dwd_event"]) for c in checks)


def test_materialised_partition_equals_full_build(assets, ods_warehouse, dbt_warehouse, tmp_path, monkeypatch):
    from dagster_pipelines.warehouse import dbt_resource

    path = copy_warehouse(dbt_warehouse, tmp_path)
    monkeypatch.setenv("FLEETLOOP_WAREHOUSE", str(path))
    day = ods_warehouse.days[-1].isoformat()
    selection = [dg.AssetKey(["dwd", "dwd_trg_stuck"]), dg.AssetKey(["dwd", "dwd_case"]),
                 dg.AssetKey(["ads", "ads_case_queue"])]
    result = dg.materialize([assets], partition_key=day, resources={"dbt": dbt_resource()}, selection=selection,
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert {m.asset_key for m in result.get_asset_materialization_events()} == set(selection)
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    assert _differences(dbt_warehouse, path) == {}
