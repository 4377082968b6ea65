"""dbt warehouse assets (DWD, DWS, ADS) for the one Definitions. Built lazily: importing does no work;
`warehouse_assets` and `defs` parse the dbt project on first access (see project.prepare_manifest)."""

from __future__ import annotations

from functools import lru_cache

from dagster_pipelines.warehouse.project import dbt_resource, prepare_manifest

__all__ = ["dbt_resource", "defs", "prepare_manifest", "warehouse_assets"]


@lru_cache(maxsize=1)
def _definitions():
    import dagster as dg

    from dagster_pipelines.warehouse.assets import build_warehouse_assets

    assets = build_warehouse_assets()
    return assets, dg.Definitions(assets=[assets], resources={"dbt": dbt_resource()})


def __getattr__(name: str):
    if name == "warehouse_assets":
        return _definitions()[0]
    if name == "defs":
        return _definitions()[1]
    raise AttributeError(name)
