"""``counterfactual_solutions``: the nightly counterfactual scorer over the day's case queue.

Reads ``ads.ads_case_queue`` (asset ['ads', 'ads_case_queue']) through the ``warehouse`` resource, scores
the top-K cases with ``fleetloop.scorer.nightly`` and replaces the day in schema ``scorer`` (solutions,
upload_plan, raw_upload_requests); packages go to ``Settings.packages``. Which cases are replayed comes
from the trigger catalog (``seeds/trigger_catalog.csv``): operations cases are tickets in ``ads.ads_ops_queue``
and never reach the scorer. A case counts as improved only when a solution resolves one of its own
triggers; the metadata gives the improved share and the triggers resolved. Deterministic for a given seed.
"""

# No ``from __future__ import annotations`` here: Dagster resolves the config annotation at definition time.
from collections import Counter
from pathlib import Path

import dagster as dg

from dagster_pipelines.resources import WarehouseResource
from fleetloop.scorer.nightly import NightlyConfig, run_nightly, write_tables

CASE_QUEUE_KEY = dg.AssetKey(["ads", "ads_case_queue"])


class ScorerConfig(dg.Config):
    top_k: int = 20
    seed: int = 0
    budget_bytes: int = 50_000_000
    robustness_variants: int = 24
    reactive: bool = False
    packages_dir: str = ""  # default: the settings' packages folder


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
    packages = Path(config.packages_dir) if config.packages_dir else warehouse.settings.packages
    cfg = NightlyConfig(top_k=config.top_k, seed=config.seed, budget_bytes=config.budget_bytes,
                        robustness_variants=config.robustness_variants, reactive=config.reactive)
    with warehouse.connect() as con:
        tables = run_nightly(con, day, packages, cfg)
        counts = write_tables(con, day, tables)
    sols = tables["solutions"]
    improved = [r for r in sols if r["status"] == "improved"]
    resolved = Counter(r["resolved_trigger"] for r in improved)
    return dg.MaterializeResult(metadata={
        "cases_scored": len(sols),
        "improved": len(improved),
        "improved_share": len(improved) / len(sols) if sols else 0.0,
        "resolved_triggers": dg.MetadataValue.json(dict(sorted(resolved.items()))),
        "log_best": sum(r["status"] == "log_best" for r in sols),
        "errors": sum(r["status"] == "error" for r in sols),
        "raw_upload_requests": counts["raw_upload_requests"],
        "package_bytes": sum(r["package_bytes"] for r in improved),
        "uploads_selected": sum(bool(p["selected"]) for p in tables["upload_plan"]),
    })
