"""Curriculum domain: problems, their trends and the training curriculum, downstream of the scorer and the tag
store."""

from __future__ import annotations

import dagster as dg

from fleetloop.settings import Settings


def build_defs(settings: Settings, partitions_def: dg.PartitionsDefinition) -> dg.Definitions:
    from dagster_pipelines.curriculum.assets import curriculum, problems, trends

    return dg.Definitions(assets=[problems, trends, curriculum])
