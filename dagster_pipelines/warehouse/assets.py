"""dbt models as daily-partitioned Dagster assets; dbt tests become asset checks.

Asset keys: sources ods.<table> -> ['ods', '<table>'] (the ingest assets), models -> [layer, name] with
layer dwd | dws | ads, seeds -> ['ref', name]. A partition runs `dbt build --vars '{run_date: <day>}'`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from dagster_pipelines.warehouse.project import prepare

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

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Lineage reads as layers: ``ref`` for seeds, the layer (dwd, dws, ads) for models and their tests."""
        if dbt_resource_props["resource_type"] == "seed":
            return "ref"
        layer = dbt_resource_props["name"].split("_", 1)[0]
        return layer if layer in LAYERS else None


def build_warehouse_assets(project: DbtProject, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The dbt assets over the (freshly parsed if needed) manifest, partitioned by day."""

    @dbt_assets(
        manifest=prepare(project),
        project=project,
        name="warehouse",
        partitions_def=partitions_def,
        dagster_dbt_translator=WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    )
    def warehouse(context, dbt: DbtCliResource):  # no annotation: a postponed one is not resolvable by Dagster
        run_vars = json.dumps({"run_date": context.partition_key})
        # unit tests check the SQL on fixed fixtures without run_date (CI's `dbt build`); a partition build runs
        # the models and the data tests, which become asset checks
        yield from dbt.cli(["build", "--exclude", "test_type:unit", "--vars", run_vars], context=context).stream()

    return warehouse
