"""The daily partitions every dated fleetloop asset shares: one UTC day per partition, from the first landed day."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from fleetloop.paths import landed_days
from fleetloop.settings import Settings


def first_day(settings: Settings) -> dt.date:
    """The settings' start date, else the first day that has landed, else today (UTC)."""
    if settings.start_date:
        return settings.start_date
    days = landed_days(settings.landing) if settings.landing.is_dir() else []
    return days[0] if days else dt.datetime.now(dt.UTC).date()


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=first_day(settings).isoformat(), timezone="UTC")
