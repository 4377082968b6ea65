"""Great Expectations suites (``expectations/<table>.json``) as blocking asset checks on ODS and ADS
assets, validated by ``fleetloop.quality.validate_table`` on the partition's rows."""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
import json

import dagster as dg

from dagster_pipelines.resources import WarehouseResource
from fleetloop import lake
from fleetloop.paths import parse_partition
from fleetloop.quality.suites import EXPECTATIONS_DIR, LOAD_STAGE

SCHEMA_OF_PREFIX = {"ods_": "ods", "ads_": "ads"}
# GX runs on a sample of this many rows; row-level expectations are still counted on the whole partition in
# SQL by the runner, so a rare bad row is never missed, except what the load establishes row by row (its rules
# and duplicate search; the reconciliation gate on the same asset reads its accounting).
GATE_SAMPLE_ROWS = 100_000
TRUSTED_STAGES = (LOAD_STAGE,)


def suite_tables() -> list[str]:
    """Tables that have a suite (``expectations/<table>.json``)."""
    return sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))


def _qualified(table: str) -> str:
    return f"{SCHEMA_OF_PREFIX[table[:4]]}.{table}"


def failures_markdown(failures: list[dict]) -> str:
    """Which expectation failed on which rows, as a Markdown table for the check's metadata."""
    lines = ["| expectation | column | unexpected | sample failing rows |", "|---|---|---|---|"]
    for f in failures:
        rows = "<br>".join(json.dumps(r, default=str).replace("|", "\\|") for r in f.get("sample_rows") or [])
        observed = f.get("observed_value")
        if observed is not None:
            rows = f"observed {observed}" + (f"<br>{rows}" if rows else "")
        lines.append(f"| {f['expectation']} | {f.get('column') or ''} | {f.get('unexpected_count')} | {rows} |")
    return "\n".join(lines)


def build_expectation_check(
    table: str, key: dg.AssetKey, partitions_def: dg.PartitionsDefinition | None
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name="expectations",
        blocking=True,
        partitions_def=partitions_def,
        description=f"Great Expectations suite fleetloop/quality/expectations/{table}.json on "
                    + ("the day's rows" if partitions_def else "the whole table"),
    )
    def expectations(context, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        from fleetloop.quality import validate_table

        day = parse_partition(context.partition_key) if partitions_def else None
        qualified = _qualified(table)
        settings = warehouse.settings
        reading = (lake.session(settings.lake, settings, ods=True) if qualified.startswith("ods.")  # ODS: the lake
                   else warehouse.connect(read_only=True))
        with reading as con:
            columns = {r[0] for r in con.execute(f"describe {qualified}").fetchall()}
            where = f"dt = date '{day.isoformat()}'" if day and "dt" in columns else None
            result = validate_table(con, qualified, table, where=where, sample_rows=GATE_SAMPLE_ROWS,
                                    trusted=TRUSTED_STAGES)
        metadata: dict[str, object] = {"rows": result.rows, "rows_validated": result.rows_validated,
                                       "established_by_load": result.established}
        if result.failures:
            metadata["failed_expectations"] = dg.MetadataValue.md(failures_markdown(result.failures))
            metadata["failed"] = "; ".join(
                f"{f['expectation']}({f.get('column') or ''}): {f.get('unexpected_count')} rows"
                for f in result.failures
            )
        return dg.AssetCheckResult(passed=result.success, metadata=metadata)

    return expectations
