"""``published_warehouse``: atomically publish the working DuckDB file once every gate has passed."""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
from collections.abc import Sequence

import dagster as dg

from dagster_pipelines.checks.results import blocking_failures
from dagster_pipelines.resources import WarehouseResource
from fleetloop.publish import publish

PUBLISHED_KEY = dg.AssetKey("published_warehouse")


class GateFailedError(RuntimeError):
    """A quality gate of this run failed: publication refused."""


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, day: str, observations: bool = False) -> float:
    flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day])
    fetch = instance.fetch_observations if observations else instance.fetch_materializations
    records = fetch(flt, limit=1).records
    return records[0].timestamp if records else 0.0


def ungated_days(
    instance: dg.DagsterInstance, ods_keys: Sequence[dg.AssetKey], days: Sequence[str], current: str
) -> list[str]:
    """Days in the working file whose ODS was reloaded after the last run of that day that passed every
    gate (a run that failed a gate or died midway): publishing now would expose them half-built."""
    def gated_at(day: str) -> float:
        return max(_latest(instance, PUBLISHED_KEY, day), _latest(instance, PUBLISHED_KEY, day, observations=True))

    return [day for day in days
            if day != current and max(_latest(instance, k, day) for k in ods_keys) > gated_at(day)]


def build_published_asset(
    partitions_def: dg.PartitionsDefinition, upstream: Sequence[dg.AssetKey], ods_keys: Sequence[dg.AssetKey]
) -> dg.AssetsDefinition:
    """The published asset, downstream of every leaf of the graph (ADS tables, scorer outputs)."""

    @dg.asset(
        key=PUBLISHED_KEY,
        deps=list(upstream),
        partitions_def=partitions_def,
        group_name="published",
        kinds={"duckdb"},
        description=(
            "Read-only DuckDB file analysts query (Settings.published): ADS, DWS, DWD, scorer and reference "
            "tables with operator ids pseudonymised, built fresh and replaced atomically (temp file, fsync, "
            "os.replace) only after a complete run whose blocking gates all passed."
        ),
    )
    def published_warehouse(context, warehouse: WarehouseResource) -> dg.MaterializeResult:
        failed = blocking_failures(context.instance, context.run_id)
        if failed:
            raise GateFailedError(
                "not publishing: failed gates " + ", ".join(f"{g.asset}::{g.check}" for g in failed)
            )
        # this day passed its gates: recorded first, so that a refusal below still counts the day as gated
        context.log_event(dg.AssetObservation(asset_key=PUBLISHED_KEY, partition=context.partition_key,
                                              metadata={"gates": "passed", "run_id": context.run_id}))
        with warehouse.connect(read_only=True) as con:
            days = [str(r[0]) for r in con.execute("select distinct dt from ods.ods_reconciliation").fetchall()]
        dirty = ungated_days(context.instance, ods_keys, days, context.partition_key) if ods_keys else []
        if dirty:
            raise GateFailedError(
                f"not publishing: day(s) {', '.join(sorted(dirty))} were reloaded but never passed their gates; "
                "rerun them (`fleetloop rerun --day D`)"
            )
        pub = publish(warehouse.settings, context.run_id)
        context.log.info(f"published {pub.bytes / 1e6:.1f} MB to {pub.path} in {pub.seconds:.2f} s")
        return dg.MaterializeResult(metadata=pub.as_metadata())

    return published_warehouse
