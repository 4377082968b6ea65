"""Jobs: one daily job over the whole graph, executed in process (one DuckDB writer at a time)."""

from __future__ import annotations

import logging

import dagster as dg

DAILY_JOB = "daily_job"
TRIGGER_TAG = "fleetloop/trigger"  # who started a run: cli, demo, rerun, late_data, ...


def build_daily_job(partitions_def: dg.PartitionsDefinition) -> dg.UnresolvedAssetJobDefinition:
    """Every materialisable asset and check for one day: raw -> ODS -> dbt -> scorer -> published."""
    return dg.define_asset_job(
        DAILY_JOB,
        selection=dg.AssetSelection.all(),
        partitions_def=partitions_def,
        executor_def=dg.in_process_executor,
        description="One day end to end with blocking quality gates; publishes only when every gate passes.",
        tags={"fleetloop/job": "daily"},
    )


STEP_LOGGER = "fleetloop.steps"


@dg.logger(description="Hands every Dagster event to the Python logger 'fleetloop.steps': the operators' shell "
                       "shows progress from it and writes it to its log file.")
def step_events(_init_context) -> logging.Logger:
    log = logging.getLogger(STEP_LOGGER)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


LOGGERS = {"console": dg.colored_console_logger, "step_events": step_events}
