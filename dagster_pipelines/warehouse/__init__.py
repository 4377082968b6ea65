"""Warehouse domain: the dbt models (DWD, DWS, ADS) and seeds as assets, dbt tests as asset checks."""

from __future__ import annotations

import dagster as dg

from fleetloop.settings import Settings


def build_defs(settings: Settings, partitions_def: dg.PartitionsDefinition) -> dg.Definitions:
    from dagster_pipelines.warehouse.assets import build_warehouse_assets
    from dagster_pipelines.warehouse.project import dbt_project, dbt_resource

    project = dbt_project(settings)
    target = settings.home / "dbt" / "target"  # beside the profile written from the settings
    return dg.Definitions(assets=build_warehouse_assets(project, partitions_def, target),
                          resources={"dbt": dbt_resource(project)})
