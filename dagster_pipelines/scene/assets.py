"""The tag store (``fleetloop.mining.warehouse``): tag map, per-second bitmap, runs and daily exposure, rebuilt
from every day's ``dwd.dwd_second_feature`` with the tags of ``fleetloop/seeds/tag_definitions.csv`` as they are
(all days at once, like the all-days tables: a tag added as a seed row is there for every day after one run)."""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
import dagster as dg

from dagster_pipelines.resources import WarehouseResource
from fleetloop.lake import write_scene_tables
from fleetloop.mining.warehouse import (
    EVENT_SCENE_TABLE,
    EXAMPLE_TABLE,
    EXPOSURE_CELL_TABLE,
    EXPOSURE_TABLE,
    SCENE_EXPOSURE_TABLE,
    WAREHOUSE_STORE,
    build_warehouse_store,
)

# what the dbt project reads of the store (sources of models/ads/all_days/ads_scene_rate.sql)
SOURCE_TABLES = (WAREHOUSE_STORE.map_table, EXPOSURE_TABLE, SCENE_EXPOSURE_TABLE, EVENT_SCENE_TABLE)
STORE_TABLES = (WAREHOUSE_STORE.map_table, WAREHOUSE_STORE.table, WAREHOUSE_STORE.span_table,
                WAREHOUSE_STORE.run_table, EXPOSURE_CELL_TABLE, EXPOSURE_TABLE, SCENE_EXPOSURE_TABLE,
                EVENT_SCENE_TABLE, EXAMPLE_TABLE)
DEPS = [dg.AssetKey(["dwd", "dwd_second_feature"]), dg.AssetKey(["dwd", "dwd_event"]), dg.AssetKey(["ods", "ods_pose"]),
        dg.AssetKey(["ref", "tag_definitions"]), dg.AssetKey(["ref", "scene_definitions"])]


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


@dg.multi_asset(
    name="tag_store",
    specs=[dg.AssetSpec(_key(t), deps=DEPS, group_name=t.split(".")[0], kinds={"duckdb"},
                        description=f"{t}: the scene tag store (docs/mining.md)") for t in STORE_TABLES],
)
def tag_store(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        counts = build_warehouse_store(con)
        if warehouse.settings.engine == "spark":  # Spark's all-days models read these as sources from the lake
            write_scene_tables(con, warehouse.settings.lake, SOURCE_TABLES)
    for table in STORE_TABLES:
        yield dg.MaterializeResult(asset_key=_key(table), metadata={"dagster/row_count": counts[table]})
