"""The daily partitions every fleetloop asset shares: one UTC day per partition."""

from __future__ import annotations

import os

import dagster as dg

DEFAULT_START_DATE = "2026-01-01"


def start_date() -> str:
    """First partition day: ``FLEETLOOP_START_DATE`` (YYYY-MM-DD) or 2026-01-01."""
    return os.environ.get("FLEETLOOP_START_DATE", DEFAULT_START_DATE)


daily_partitions = dg.DailyPartitionsDefinition(start_date=start_date(), timezone="UTC")
