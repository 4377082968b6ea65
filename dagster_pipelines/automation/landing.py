"""The raw landing as external assets (where the lineage graph starts) and the late-data sensor."""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
import datetime as dt
import json

import dagster as dg

from dagster_pipelines.resources import WarehouseResource
from fleetloop.contract import SOURCES
from fleetloop.landing import landing_prints

RAW_GROUP = "raw"


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def raw_asset_specs(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetSpec]:
    """One external, daily-partitioned asset per raw source: files under ``<landing>/<source>/dt=<day>/``."""
    return [
        dg.AssetSpec(
            key=raw_key(name),
            description=f"Raw {name} files as landed: {src.description}",
            group_name=RAW_GROUP,
            partitions_def=partitions_def,
            kinds={src.default_format.split(".")[0]},
            metadata={"layout": f"<landing>/{name}/dt=YYYY-MM-DD/*.jsonl|*.jsonl.gz|*.parquet"},
        )
        for name, src in SOURCES.items()
    ]


def _last_materialized(instance: dg.DagsterInstance, key: dg.AssetKey, day: str) -> float | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
    ).records
    return records[0].timestamp if records else None


def late_sources(
    instance: dg.DagsterInstance,
    previous: dict[str, dict[str, str]],
    current: dict[str, dict[str, object]],
    ods_keys: dict[str, dg.AssetKey],
    today: dt.date,
) -> dict[str, list[str]]:
    """``{day: [source, ...]}`` whose files changed since the cursor and need that day rebuilt.

    A change counts when the day is past (before ``today``) and either the source's ODS partition was
    materialised before its newest file landed (late files), or the day is older than yesterday and was
    never loaded (a late day; yesterday itself belongs to the nightly schedule).
    """
    out: dict[str, list[str]] = {}
    yesterday = today - dt.timedelta(days=1)
    for day, sources in sorted(current.items()):
        d = dt.date.fromisoformat(day)
        if d >= today:
            continue
        for source, fp in sorted(sources.items()):
            if previous.get(day, {}).get(source) == fp.key or source not in ods_keys:
                continue
            loaded_at = _last_materialized(instance, ods_keys[source], day)
            if (loaded_at is None and d < yesterday) or (loaded_at is not None and fp.newest_mtime > loaded_at):
                out.setdefault(day, []).append(source)
    return out


def build_late_data_sensor(
    job: "dg.UnresolvedAssetJobDefinition", ods_keys: dict[str, dg.AssetKey], partitions_def: dg.PartitionsDefinition
) -> dg.SensorDefinition:
    """A sensor that re-runs one past day (the changed sources' ODS assets and everything downstream).
    Days outside the partitions definition are ignored (and logged)."""

    @dg.sensor(
        name="late_data_sensor",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Notices raw files landing for a past day and rebuilds that day and what depends on it.",
    )
    def late_data_sensor(context, warehouse: WarehouseResource) -> dg.SensorResult:
        landing = warehouse.landing_path
        previous = json.loads(context.cursor) if context.cursor else {}
        prints = landing_prints(landing)
        today = dt.datetime.now(dt.timezone.utc).date()
        late = late_sources(context.instance, previous, prints, ods_keys, today)
        graph = context.repository_def.asset_graph
        requests = []
        for day, sources in late.items():
            if not partitions_def.has_partition_key(day):
                context.log.warning(f"late files for {day} ({', '.join(sources)}) lie outside the partitions")
                continue
            roots = [ods_keys[s] for s in sources]
            selection = dg.AssetSelection.assets(*roots).downstream().resolve(graph)
            fingerprint = ",".join(f"{s}={prints[day][s].key}" for s in sources)
            requests.append(
                dg.RunRequest(
                    run_key=f"late:{day}:{fingerprint}",
                    partition_key=day,
                    asset_selection=sorted(selection, key=lambda k: k.to_user_string()),
                    tags={"fleetloop/trigger": "late_data", "fleetloop/late_sources": ",".join(sources)},
                )
            )
        cursor = {day: {s: fp.key for s, fp in by_source.items()} for day, by_source in prints.items()}
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

    return late_data_sensor
