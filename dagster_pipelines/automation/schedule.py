"""The nightly schedule: yesterday's partition, its checks, the scorer and the publication."""

from __future__ import annotations

import dagster as dg

NIGHTLY_HOUR_UTC = 2


def build_nightly_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """At 02:00 UTC, run the daily job for the last complete day (the partition ending at midnight)."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name="nightly_schedule",
        hour_of_day=NIGHTLY_HOUR_UTC,
        minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Materialises yesterday's partition (ODS -> dbt -> scorer -> published) with its gates.",
    )
