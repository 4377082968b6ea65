"""dbt models as Dagster assets; dbt tests become asset checks with descriptions.

Asset keys: sources ods.<table> -> ['ods', '<table>'] (the ingest assets), models -> [layer, name] with
layer dwd | dws | ads, seeds -> ['ref', name]; groups are the layers. Three dbt invocations per run, in
lineage order: reference data (seeds and the dimension tables, unpartitioned), the day's models (daily
partitioned: one run builds one day) and the all-days tables (unpartitioned, rebuilt from every day).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from dagster_pipelines.resources import WarehouseResource
from dagster_pipelines.warehouse.project import dbt_resource, prepare
from fleetloop.lake import attach_ods
from fleetloop.spark_tables import built_relations, copy_spark_tables

LAYERS = ("dwd", "dws", "ads")


class WarehouseTranslator(DagsterDbtTranslator):
    """Maps dbt sources onto the ingest engineer's ODS asset keys and models onto [layer, name]."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        resource_type = dbt_resource_props["resource_type"]
        name = dbt_resource_props["name"]
        if resource_type == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], name])
        if resource_type == "seed":
            return dg.AssetKey(["ref", name])
        layer = name.split("_", 1)[0]
        if resource_type == "model" and layer in LAYERS:
            return dg.AssetKey([layer, name])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project) -> dg.AssetCheckSpec | None:
        """dbt's check, described in words: the test's own description, else what its macro checks and where."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest["nodes"][unique_id]))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Lineage reads as layers: ``ref`` for seeds, the layer (dwd, dws, ads) for models and their tests."""
        if dbt_resource_props["resource_type"] == "seed":
            return "ref"
        layer = dbt_resource_props["name"].split("_", 1)[0]
        return layer if layer in LAYERS else None


def describe_test(node: Mapping[str, Any]) -> str:
    """``not_null on dwd_event.event_id``-style words for a dbt test node without a description."""
    if node.get("description"):
        return node["description"]
    meta = node.get("test_metadata") or {}
    kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k not in ("model", "column_name")}
    where = node.get("attached_node", "").rsplit(".", 1)[-1]
    column = node.get("column_name")
    target = f"{where}.{column}" if column else where
    if not meta:
        return f"singular test {node['name']} (tests/dbt): no rows may come back"
    args = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    return f"{meta.get('namespace') + '.' if meta.get('namespace') else ''}{meta['name']} on {target}" + (
        f" ({args})" if args else "")


# dbt selections of the three invocations (reference data, the day's models, the all-days tables)
REFERENCE = "resource_type:seed config.materialized:table,path:models/dwd"  # seeds and the DWD tables of them
DAILY = "config.materialized:incremental"  # selected, not "all but the others": an exclude drops its tests too
ALL_DAYS = "path:models/ads/all_days"
# An unpartitioned invocation runs the tests whose every parent it builds (or has built before it); a test that
# also reads a daily model (a relationship from a day's detail to a dimension) runs with that day's models.
UNPARTITIONED_TESTS = ("--exclude", "test_type:unit", "--indirect-selection", "buildable")


def _attach_lake(warehouse: WarehouseResource) -> None:
    """Point the working warehouse's ODS views at the lake (a source's first partition needs a new view) before
    dbt reads its sources; the run holds the warehouse's lock."""
    with warehouse.connect() as con:
        attach_ods(con, warehouse.settings.lake)


def _copy_spark_build(context, invocation, project: DbtProject, warehouse: WarehouseResource,
                      flags: tuple[str, ...] = ()) -> None:
    """On the Spark engine, the tables an invocation built, copied into the working DuckDB file with DuckDB's
    types (``fleetloop.spark_tables``): an empty build of the same nodes on the ``duckdb`` target (its own target
    folder, so neither target's partial parse is lost), then the rows from Spark's Parquet files."""
    settings = warehouse.settings
    if settings.engine != "spark":
        return
    relations = built_relations(invocation.get_artifact("run_results.json"), invocation.get_artifact("manifest.json"))
    if not relations:
        return
    nodes = " ".join(sorted(name for _, name in relations))
    dbt_resource(project, target="duckdb").cli(
        ["build", "--empty", "--resource-type", "seed", "--resource-type", "model", "--select", nodes, *flags],
        target_path=settings.home / "dbt" / "target_duckdb_types").wait()
    with warehouse.connect() as con:
        rows = copy_spark_tables(con, settings, relations)
    context.log.info(f"copied {len(rows)} Spark tables ({sum(rows.values()):,} rows) into {settings.warehouse}")


def _build(context, dbt: DbtCliResource, args: tuple[str, ...], project: DbtProject, warehouse: WarehouseResource,
           target: Path, flags: tuple[str, ...] = ()):
    """``dbt build`` of the asset's selection streamed as Dagster events, then (on Spark) copied to DuckDB."""
    invocation = dbt.cli(["build", *args, *flags], context=context, target_path=target)
    yield from invocation.stream()
    _copy_spark_build(context, invocation, project, warehouse, flags)


def _translator() -> WarehouseTranslator:
    return WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def build_warehouse_assets(project: DbtProject, partitions_def: dg.PartitionsDefinition,
                           target: Path) -> list[dg.AssetsDefinition]:
    """The dbt assets over the (freshly parsed if needed) manifest: reference, daily and all-days. Every
    invocation shares the installation's ``target`` folder, so dbt's partial parse carries from run to run
    (dagster-dbt would otherwise give each invocation a fresh folder and a full parse)."""
    manifest = prepare(project)

    @dbt_assets(manifest=manifest, project=project, name="warehouse_reference", select=REFERENCE,
                exclude=f"{DAILY} {ALL_DAYS}",  # and with them the tests that also read a day's model
                dagster_dbt_translator=_translator())
    # a postponed annotation is not resolvable by Dagster
    def warehouse_reference(context, dbt: DbtCliResource, warehouse: WarehouseResource):
        _attach_lake(warehouse)
        yield from _build(context, dbt, UNPARTITIONED_TESTS, project, warehouse, target)

    @dbt_assets(manifest=manifest, project=project, name="warehouse_daily", select=DAILY,
                partitions_def=partitions_def, dagster_dbt_translator=_translator())
    def warehouse_daily(context, dbt: DbtCliResource, warehouse: WarehouseResource):
        _attach_lake(warehouse)
        # the day as dbt's event-time window (a run flag: a new day keeps the partial parse; vars would not)
        start, end = context.partition_time_window
        day = ("--event-time-start", f"{start:%Y-%m-%d}", "--event-time-end", f"{end:%Y-%m-%d}")
        # unit tests check the SQL on fixed fixtures (CI's `dbt build`); a partition build runs the models and the
        # data tests, which become asset checks
        yield from _build(context, dbt, ("--exclude", "test_type:unit"), project, warehouse, target, day)

    @dbt_assets(manifest=manifest, project=project, name="warehouse_all_days", select=ALL_DAYS,
                dagster_dbt_translator=_translator())
    def warehouse_all_days(context, dbt: DbtCliResource, warehouse: WarehouseResource):
        yield from _build(context, dbt, UNPARTITIONED_TESTS, project, warehouse, target)

    return [warehouse_reference, warehouse_daily, warehouse_all_days]
