"""The raw landing as external assets (where the lineage graph starts) and the late-data sensor.

The sensor compares each past day's folder prints (names, sizes, SHA-256: ``fleetloop.landing``) with what the
day's ODS load read (the landing manifest in the lake, once a load wrote one) or else with its own previous scan (its
cursor, which also caches the hashes), and asks for a rebuild of the changed sources' ODS assets and everything
downstream. Problems in the landing (bad folder names, links out of it) are logged by name and in the tick's
skip reason; the rest is scanned.
"""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
import datetime as dt
import hashlib
import json
from dataclasses import astuple, dataclass, field

import dagster as dg
import duckdb

from dagster_pipelines.resources import WarehouseResource
from fleetloop import lake
from fleetloop.contract import SOURCES
from fleetloop.landing import FileState, FolderKey, LandingScan, manifest_prints, scan_landing

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


CURSOR_VERSION = 2
HASH_BUDGET_BYTES = 2 << 30  # hashed per tick at most, so a tick ends well inside Dagster's sensor timeout
PROBLEMS_NAMED = 20  # problems named in one tick's log and skip reason


@dataclass
class SensorCursor:
    """What the previous tick saw: file states (the hash cache) and the prints of complete folders."""

    files: dict[str, FileState] = field(default_factory=dict)
    prints: dict[FolderKey, str] = field(default_factory=dict)

    @classmethod
    def of(cls, scan: LandingScan) -> "SensorCursor":
        return cls(scan.files, scan.prints)

    @classmethod
    def parse(cls, text: str | None) -> "SensorCursor | None":
        """The cursor of a previous tick, or None on the first tick (or a cursor of an older format)."""
        try:
            data = json.loads(text or "")
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
            return None
        return cls(
            files={path: FileState(*state) for path, state in data["files"].items()},
            prints={_folder_key(k): v for k, v in data["prints"].items()},
        )

    def dump(self) -> str:
        return json.dumps({
            "v": CURSOR_VERSION,
            "files": {p: astuple(state) for p, state in sorted(self.files.items())},
            "prints": {f"{d}/{s}": v for (d, s), v in sorted(self.prints.items())},
        }, separators=(",", ":"))


def _folder_key(text: str) -> FolderKey:
    day, source = text.split("/", 1)
    return day, source


def late_sources(
    scan: LandingScan,
    previous: SensorCursor | None,
    manifest: dict[FolderKey, str],
    loaded: dict[str, set[str]],
    today: dt.date,
) -> dict[str, list[str]]:
    """``{day: [source, ...]}`` of past days whose landing differs from its reference and needs a rebuild.

    The reference of a folder is the manifest's print (what the load read) when there is one, else the
    previous tick's print (none on the first tick, for a folder not seen complete before, e.g. one that was
    still today's or pending). A loaded source-day (``loaded``: ``{source: {day, ...}}``) is late when it differs
    from its reference; one never loaded when it is older than yesterday (yesterday is the nightly schedule's)
    and not known unchanged.
    """
    out: dict[str, list[str]] = {}
    yesterday = today - dt.timedelta(days=1)
    for (day, source), current in sorted(scan.prints.items()):
        d = dt.date.fromisoformat(day)
        if d >= today or source not in loaded:
            continue
        key = (day, source)
        if key in manifest:
            changed = manifest[key] != current
        elif previous is not None and key in previous.prints:
            changed = previous.prints[key] != current
        else:
            changed = None  # no reference yet
        if day in loaded[source]:
            late = changed is True
        else:
            late = d < yesterday and changed is not False
        if late:
            out.setdefault(day, []).append(source)
    return out


def read_manifest(warehouse: WarehouseResource, keys: list[FolderKey], log) -> dict[FolderKey, str]:
    """The manifest's prints of ``keys``, read from the lake (each source-day's manifest file is replaced
    atomically by its load, so no lock is needed); empty when nothing was loaded yet or it cannot be read (the
    cursor is the reference)."""
    settings = warehouse.settings
    if not keys or not settings.lake.is_dir():
        return {}
    try:
        with lake.session(settings.lake, settings, ods=True) as con:
            return manifest_prints(con, keys)
    except duckdb.Error as exc:
        log.warning(f"landing manifest of {settings.lake} not readable, comparing with the previous scan: {exc}")
    return {}


def _problems_text(scan: LandingScan) -> str:
    named = "; ".join(str(p) for p in scan.problems[:PROBLEMS_NAMED])
    more = len(scan.problems) - PROBLEMS_NAMED
    return f"not scanned: {named}" + (f"; and {more} more" if more > 0 else "")


def _run_key(day: str, sources: list[str], scan: LandingScan) -> str:
    """One run per day and content: the same late files never ask twice."""
    prints = ",".join(f"{s}={scan.prints[(day, s)]}" for s in sources)
    return f"late:{day}:{hashlib.sha256(prints.encode()).hexdigest()[:16]}"


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
        description="Notices raw files landing (new or changed content) for a past day and rebuilds that day and "
                    "what depends on it.",
    )
    def late_data_sensor(context, warehouse: WarehouseResource) -> dg.SensorResult:
        previous = SensorCursor.parse(context.cursor)
        today = dt.datetime.now(dt.UTC).date()
        scan = scan_landing(warehouse.landing_path, previous.files if previous else {}, before=today,
                            budget_bytes=HASH_BUDGET_BYTES)
        if scan.problems:
            context.log.warning(f"landing {warehouse.landing_path}: {_problems_text(scan)}")
        if scan.pending:
            context.log.info(f"{len(scan.pending)} folder(s) not fully hashed yet; judged on a later tick")
        manifest = read_manifest(warehouse, sorted(k for k in scan.prints if k[1] in ods_keys), context.log)
        loaded = {s: context.instance.get_materialized_partitions(k) for s, k in ods_keys.items()}
        late = late_sources(scan, previous, manifest, loaded, today)
        graph = context.repository_def.asset_graph
        requests = []
        for day, sources in late.items():
            if not partitions_def.has_partition_key(day):
                context.log.warning(f"late files for {day} ({', '.join(sources)}) lie outside the partitions")
                continue
            selection = dg.AssetSelection.assets(*(ods_keys[s] for s in sources)).downstream().resolve(graph)
            requests.append(
                dg.RunRequest(
                    run_key=_run_key(day, sources, scan),
                    partition_key=day,
                    asset_selection=sorted(selection, key=lambda k: k.to_user_string()),
                    tags={"fleetloop/trigger": "late_data", "fleetloop/late_sources": ",".join(sources)},
                )
            )
        skip = None if requests else "no late files" + (f"; {_problems_text(scan)}" if scan.problems else "")
        return dg.SensorResult(run_requests=requests, skip_reason=skip, cursor=SensorCursor.of(scan).dump())

    return late_data_sensor
