"""Scorer domain: the nightly counterfactual replay asset."""

from __future__ import annotations

import dagster as dg

from fleetloop.settings import Settings


def build_defs(settings: Settings, partitions_def: dg.PartitionsDefinition) -> dg.Definitions:
    from dagster_pipelines.scorer.assets import build_scorer_asset

    return dg.Definitions(assets=[build_scorer_asset(partitions_def)])
