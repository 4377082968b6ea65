"""Problems, trends and curriculum (``fleetloop.curriculum``, docs/curriculum.md) over every day at once, like the
tag store: case features and problems with stable ids after the nightly scorer and the tag store; trends per day,
week and version; the curriculum with active mining into ``ads.ads_mined_case``."""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
import dagster as dg

from dagster_pipelines.resources import WarehouseResource
from dagster_pipelines.scene.assets import STORE_TABLES
from fleetloop.curriculum.config import (
    ALERT_TABLE,
    CASE_FEATURE_TABLE,
    CASE_TAG_TABLE,
    CURRICULUM_TABLE,
    DEFAULT_CONFIG,
    EXAMPLE_TABLE,
    PROBLEM_CASE_TABLE,
    PROBLEM_TABLE,
    TREND_TABLE,
    VERSION_TABLE,
)
from fleetloop.curriculum.pipeline import curriculum_step, problems_step
from fleetloop.curriculum.trends import build_trends
from fleetloop.mining.warehouse import EXPOSURE_CELL_TABLE

SCORER_KEY = dg.AssetKey(["scorer", "counterfactual_solutions"])
CASE_KEY = dg.AssetKey(["dwd", "dwd_case"])
PROBLEM_TABLES = (CASE_FEATURE_TABLE, CASE_TAG_TABLE, PROBLEM_TABLE, PROBLEM_CASE_TABLE, EXAMPLE_TABLE)
TREND_TABLES = (TREND_TABLE, VERSION_TABLE, ALERT_TABLE)
GROUP = "curriculum"


def key(table: str) -> dg.AssetKey:
    return dg.AssetKey(table.split("."))


def _specs(tables: tuple[str, ...], deps: list[dg.AssetKey], what: str) -> list[dg.AssetSpec]:
    return [dg.AssetSpec(key(t), deps=deps, group_name=GROUP, kinds={"duckdb"},
                         description=f"{t}: {what} (docs/curriculum.md)") for t in tables]


def _results(counts: dict[str, int], tables: tuple[str, ...]):
    for table in tables:
        yield dg.MaterializeResult(asset_key=key(table), metadata={"dagster/row_count": counts[table]})


@dg.multi_asset(name="problems", specs=_specs(PROBLEM_TABLES, [SCORER_KEY, CASE_KEY, *map(key, STORE_TABLES)],
                                              "case features and problems with stable ids"))
def problems(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        counts = problems_step(con, DEFAULT_CONFIG)
    yield from _results(counts, PROBLEM_TABLES)


@dg.multi_asset(name="problem_trends", specs=_specs(TREND_TABLES, [key(PROBLEM_TABLE), key(PROBLEM_CASE_TABLE),
                                                                   key(EXPOSURE_CELL_TABLE)],
                                                    "problem trends, version changes and alerts"))
def trends(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        counts = build_trends(con, DEFAULT_CONFIG)
    yield from _results(counts, TREND_TABLES)


@dg.asset(key=key(CURRICULUM_TABLE), deps=[key(PROBLEM_TABLE), key(TREND_TABLE)], group_name=GROUP,
          kinds={"duckdb"}, description="ads.ads_curriculum: training stages with active mining (docs/curriculum.md)")
def curriculum(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        counts = curriculum_step(con, DEFAULT_CONFIG)
    return dg.MaterializeResult(metadata={"dagster/row_count": counts[CURRICULUM_TABLE],
                                          "mined_clips": counts["mined_clips"]})
