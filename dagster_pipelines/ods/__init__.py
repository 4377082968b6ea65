"""ODS domain: one daily-partitioned load asset per raw source, generated from the contract (see ``assets``)."""

from __future__ import annotations

import dagster as dg

from fleetloop.settings import Settings


def build_defs(settings: Settings, partitions_def: dg.PartitionsDefinition) -> dg.Definitions:
    from dagster_pipelines.ods.assets import build_ods_assets

    return dg.Definitions(assets=build_ods_assets(partitions_def))
