"""Scene domain: the per-second tag store and the tags' daily exposure, built after the day's dbt models."""

from __future__ import annotations

import dagster as dg

from fleetloop.settings import Settings


def build_defs(settings: Settings, partitions_def: dg.PartitionsDefinition) -> dg.Definitions:
    from dagster_pipelines.scene.assets import tag_store

    return dg.Definitions(assets=[tag_store])
