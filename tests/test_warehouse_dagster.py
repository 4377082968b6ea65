"""The dbt models as Dagster assets: keys per layer wired to the ODS asset keys, dbt tests as asset checks,
and a materialised daily partition of a few assets (a real `dbt build --vars {run_date: day}`) leaving the
warehouse equal to the full build."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from dagster_pipelines.partitions import daily_partitions
from dagster_pipelines.resources import WarehouseResource
from dagster_pipelines.warehouse import build_defs
from fleetloop.settings import Settings
from tests.fixtures.ods import lake_of
from tests.fixtures.warehouse import copy_warehouse
from tests.test_warehouse_incremental import _differences


def _warehouse_defs(warehouse, lake=None) -> tuple[dg.Definitions, dg.PartitionsDefinition]:
    """The warehouse's definitions over ``warehouse`` and the ODS lake ``lake`` (default: the home's)."""
    settings = Settings.for_home(warehouse.parent, warehouse=warehouse, start_date=dt.date(2026, 1, 1),
                                 **({"lake": lake} if lake else {}))
    partitions = daily_partitions(settings)
    return build_defs(settings, partitions), partitions


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    return _warehouse_defs(tmp_path_factory.mktemp("wh") / "fleetloop.duckdb")


def test_asset_keys_per_layer_and_ods_dependencies(defs):
    defs, partitions = defs
    reference, assets, all_days = defs.assets
    keys = set(reference.keys) | set(assets.keys) | set(all_days.keys)
    for key in (["dwd", "dwd_event"], ["dwd", "dwd_case"], ["dws", "dws_site_1d"], ["ads", "ads_case_queue"],
                ["ads", "ads_version_compare"], ["ref", "trigger_definitions"]):
        assert dg.AssetKey(key) in keys
    deps = {d for dep_set in assets.asset_deps.values() for d in dep_set}
    assert dg.AssetKey(["ods", "ods_pose"]) in deps and dg.AssetKey(["ods", "ods_heartbeat"]) in deps
    assert assets.partitions_def == partitions
    assert reference.partitions_def is None and all_days.partitions_def is None
    assert dg.AssetKey(["ref", "trigger_definitions"]) in reference.keys
    assert dg.AssetKey(["ads", "ads_version_compare"]) in all_days.keys
    checks = list(assets.check_keys)
    assert any(c.asset_key == dg.AssetKey(["dwd", "dwd_event"]) for c in checks)


def test_materialised_partition_equals_full_build(ods_warehouse, dbt_warehouse, tmp_path):
    path = copy_warehouse(dbt_warehouse, tmp_path)
    lake = lake_of(ods_warehouse.path)
    defs, _ = _warehouse_defs(path, lake)  # the daily asset points the ODS views at the lake
    settings = Settings.for_home(path.parent, warehouse=path, lake=lake)
    day = ods_warehouse.days[-1].isoformat()
    selection = [dg.AssetKey(["dwd", "dwd_trg_stuck"]), dg.AssetKey(["dwd", "dwd_case"]),
                 dg.AssetKey(["ads", "ads_case_queue"])]
    resources = {**defs.resources, "warehouse": WarehouseResource.from_settings(settings)}
    result = dg.materialize([defs.assets[1]], partition_key=day, resources=resources, selection=selection,
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert {m.asset_key for m in result.get_asset_materialization_events()} == set(selection)
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    assert _differences(dbt_warehouse, path) == {}
