"""``counterfactual_solutions``: the nightly counterfactual scorer over the day's case queue.

Reads ``ads.ads_case_queue`` (asset ['ads', 'ads_case_queue']) through the ``warehouse`` resource, scores
the day's whole queue in queue order with ``fleetloop.scorer.nightly`` on the settings' worker processes, or as
Spark tasks when the installation's engine is Spark (``fleetloop.scorer.spark_fanout``), within the settings'
night window (``scorer_processes``, ``scorer_budget_s``, and the installation's case cap ``scorer_max_cases`` if
any; a run config's ``processes``, ``budget_s`` or ``top_k`` other than 0 overrides them) and replaces the day in
schema ``scorer`` (solutions, upload_plan, raw_upload_requests, not_reached); packages go to
``Settings.packages``. Which cases are replayed comes from the trigger catalog (``seeds/trigger_catalog.csv``):
operations cases are tickets in ``ads.ads_ops_queue`` and never reach the scorer. A case counts as improved only
when a solution resolves one of its own triggers; the metadata gives the improved share, the triggers resolved,
and the cases the budget did not reach. Deterministic for a given seed, whatever the number of processes.
"""

# No ``from __future__ import annotations`` here: Dagster resolves the config annotation at definition time.
import dataclasses
import time
import typing
from collections import Counter
from pathlib import Path

import dagster as dg
import pydantic

from dagster_pipelines.resources import WarehouseResource
from fleetloop.scorer.nightly import NightlyConfig, run_nightly, write_tables
from fleetloop.spark import spark_session

CASE_QUEUE_KEY = dg.AssetKey(["ads", "ads_case_queue"])


# 0: the settings' night window, cores and case cap
FROM_SETTINGS = {"budget_s": (float, 0.0), "processes": (int, 0), "top_k": (int, 0)}


def _run_config(nightly: type) -> type[dg.Config]:
    """The asset's run configuration: the fields of ``NightlyConfig`` (one definition) plus the packages folder;
    the budget and the processes default to the settings' (``FROM_SETTINGS``)."""
    hints = typing.get_type_hints(nightly)
    fields = {f.name: (hints[f.name], f.default) for f in dataclasses.fields(nightly)} | FROM_SETTINGS
    return pydantic.create_model("ScorerConfig", __base__=dg.Config, packages_dir=(str, ""), **fields)


ScorerConfig = _run_config(NightlyConfig)  # packages_dir "" = the settings' packages folder


def build_scorer_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["scorer", "counterfactual_solutions"]),
        group_name="scorer",
        deps=[CASE_QUEUE_KEY],
        partitions_def=partitions_def,
        description=__doc__,
    )
    def counterfactual_solutions(context: dg.AssetExecutionContext, config: ScorerConfig,
                                 warehouse: WarehouseResource) -> dg.MaterializeResult:
        return _score_day(context.partition_key, config, warehouse)

    return counterfactual_solutions


def _score_day(day: str, config: ScorerConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = warehouse.settings
    packages = Path(config.packages_dir) if config.packages_dir else settings.packages
    cfg = NightlyConfig(**config.model_dump(exclude={"packages_dir"}))
    cfg.budget_s = cfg.budget_s or settings.scorer_budget_s
    cfg.processes = cfg.processes or settings.scorer_cores
    cfg.top_k = cfg.top_k or settings.scorer_max_cases
    clock = time.perf_counter()
    spark = spark_session(settings) if settings.engine == "spark" else None
    with warehouse.connect() as con:
        tables = run_nightly(con, day, packages, cfg, spark)
        counts = write_tables(con, day, tables)
    wall_s = time.perf_counter() - clock
    sols = tables["solutions"]
    improved = [r for r in sols if r["status"] == "improved"]
    resolved = Counter(r["resolved_trigger"] for r in improved)
    missed = Counter(r["cause"] for r in tables["not_reached"])
    return dg.MaterializeResult(metadata={
        "cases_scored": len(sols),
        "not_reached": counts["not_reached"],
        "not_reached_by_cause": dg.MetadataValue.json(dict(sorted(missed.items()))),
        "budget_s": cfg.budget_s,
        "processes": cfg.processes,
        "engine": settings.engine,
        "wall_s": wall_s,
        "improved": len(improved),
        "improved_share": len(improved) / len(sols) if sols else 0.0,
        "resolved_triggers": dg.MetadataValue.json(dict(sorted(resolved.items()))),
        "log_best": sum(r["status"] == "log_best" for r in sols),
        "errors": sum(r["status"] == "error" for r in sols),
        "raw_upload_requests": counts["raw_upload_requests"],
        "package_bytes": sum(r["package_bytes"] for r in improved),
        "uploads_selected": sum(bool(p["selected"]) for p in tables["upload_plan"]),
    })
