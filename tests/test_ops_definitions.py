"""The one Definitions: loads (after dbt parse), one lineage graph raw -> ODS -> DWD -> DWS -> ADS -> scorer ->
published, blocking gates on every ODS and ADS asset with a suite, the nightly schedule's run requests."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from dagster_pipelines.curriculum.assets import GROUP as CURRICULUM
from dagster_pipelines.warehouse.project import PROJECT_DIR
from fleetloop.contract import SOURCES
from fleetloop.settings import Settings


@pytest.fixture(scope="module")
def defs(tmp_path_factory) -> dg.Definitions:
    from dagster_pipelines.definitions import build_definitions

    settings = Settings.for_home(tmp_path_factory.mktemp("home"), start_date=dt.date(2026, 1, 1))
    d = build_definitions(settings)
    dg.Definitions.validate_loadable(d)
    return d


def upstream_keys(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen, todo = set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_entry_point_is_lazy_and_loads(tmp_path, monkeypatch):
    import dagster_pipelines.definitions as module

    assert not isinstance(module.defs, dg.Definitions), "the entry point must be lazy (@dg.definitions)"
    monkeypatch.setenv("FLEETLOOP_HOME", str(tmp_path))
    loaded = module.defs()
    assert isinstance(loaded, dg.Definitions)
    assert loaded.resources["warehouse"].settings.warehouse == tmp_path / "warehouse" / "fleetloop.duckdb"


def test_one_lineage_graph_from_raw_to_published(defs):
    graph = defs.resolve_asset_graph()
    published = dg.AssetKey("published_warehouse")
    upstream = upstream_keys(graph, published)
    layers = {k.path[0] for k in upstream}
    assert {"raw", "ods", "dwd", "dws", "ads", "scorer"} <= layers
    for name in SOURCES:
        assert dg.AssetKey(["raw", name]) in upstream, name
        assert dg.AssetKey(["raw", name]) in graph.get(dg.AssetKey(["ods", f"ods_{name}"])).parent_keys
    scorer = dg.AssetKey(["scorer", "counterfactual_solutions"])
    assert scorer in upstream
    curriculum = dg.AssetKey(["ads", "ads_curriculum"])  # after the scorer and the tag store, before publication
    assert curriculum in graph.get(published).parent_keys
    assert {scorer, dg.AssetKey(["dws", "dws_tag_1d"])} <= upstream_keys(graph, curriculum)
    assert dg.AssetKey(["ads", "ads_case_queue"]) in upstream_keys(graph, scorer)
    unpartitioned = {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is None}
    assert dg.AssetKey(["ref", "trigger_definitions"]) in unpartitioned  # seeds: reference data, not days
    assert dg.AssetKey(["ads", "ads_version_compare"]) in unpartitioned  # all days at once
    assert dg.AssetKey(["dwd", "dwd_vehicle"]) in unpartitioned  # a dimension
    daily = {k for k in graph.get_all_asset_keys() if k.path[0] in ("raw", "ods", "scorer")} | {published}
    daily |= {dg.AssetKey(["dwd", "dwd_event"]), dg.AssetKey(["ads", "ads_case_queue"])}
    assert not daily & unpartitioned


def test_lineage_reads_as_layers(defs):
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups <= {"raw", "ods", "dwd", "dws", "ads", "ref", "scorer", "published", "report", CURRICULUM}
    for key in graph.get_all_asset_keys():
        layer = key.path[0]
        if graph.get(key).group_name == CURRICULUM:  # the curriculum's ADS tables are read as one domain
            assert layer == "ads", key.to_user_string()
        elif layer in ("raw", "ods", "dwd", "dws", "ads", "ref", "scorer"):
            assert graph.get(key).group_name == layer, key.to_user_string()


def test_every_check_is_described(defs):
    graph = defs.resolve_asset_graph()
    specs = [spec for check_def in defs.asset_checks or [] for spec in check_def.check_specs]
    specs += [spec for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition) for spec in a.check_specs]
    assert len(specs) == len(graph.asset_check_keys)
    undescribed = [f"{s.asset_key.to_user_string()}::{s.name}" for s in specs if not s.description]
    assert undescribed == []
    by_name = {s.name: s.description for s in specs}
    not_null = next(d for n, d in by_name.items() if n.startswith("not_null_dwd_event_event_id"))
    assert "not_null" in not_null and "dwd_event.event_id" in not_null


def test_blocking_gates_on_ods_and_ads(defs):
    from dagster_pipelines.checks.expectations import suite_tables

    graph = defs.resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    for name in SOURCES:
        assert (f"ods/ods_{name}", "reconciliation") in checks
    suites = suite_tables()
    assert any(t.startswith("ads_") for t in suites) and any(t.startswith("ods_") for t in suites)
    for table in suites:
        layer = table.split("_", 1)[0]
        assert (f"{layer}/{table}", "expectations") in checks, table
    dbt_tests = [c for c in checks if c[0].startswith(("dwd/", "dws/", "ads/")) and c[1] != "expectations"]
    assert dbt_tests, "dbt tests should be asset checks"
    singular = {p.stem for p in (PROJECT_DIR / "tests" / "dbt").glob("*.sql")}
    assert singular and singular <= {name for _, name in checks}, "every singular dbt test is an asset check"
    blocking = {
        (spec.asset_key.to_user_string(), spec.name)
        for check_def in defs.asset_checks or []
        for spec in check_def.check_specs
        if spec.blocking
    }
    assert {(f"ods/ods_{n}", "reconciliation") for n in SOURCES} <= blocking
    assert {(f"{t.split('_', 1)[0]}/{t}", "expectations") for t in suites} <= blocking


def test_nightly_schedule_materialises_yesterday(defs):
    schedule = defs.resolve_schedule_def("nightly_schedule")
    job = defs.resolve_job_def("daily_job")
    assert schedule.job_name == job.name
    at = dt.datetime(2026, 11, 4, 2, 0, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        result = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=at))
    assert [r.partition_key for r in result.run_requests] == ["2026-11-03"]
    selected = set(job.asset_layer.executable_asset_keys) if hasattr(job, "asset_layer") else set()
    assert dg.AssetKey("published_warehouse") in selected
    assert dg.AssetKey(["scorer", "counterfactual_solutions"]) in selected
