"""Blocking reconciliation gate on every ODS asset: every row accounted for, quarantine within bounds, and no
reload that reads far fewer rows than the previous load of the day unless the run carries the operator's
confirmation tag (``fleetloop.reconciliation.ACCEPT_ROW_DROP_TAG``). Read from the lake, so a gate never waits for
the working warehouse."""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
import dagster as dg

from dagster_pipelines.resources import WarehouseResource
from fleetloop import lake
from fleetloop.paths import parse_partition
from fleetloop.reconciliation import ACCEPT_ROW_DROP_TAG, ROW_COUNTS, day_reconciliation, quarantine_groups, row_drops


def _cell(samples: tuple[str, ...]) -> str:
    return "<br>".join(s.replace("|", "\\|") for s in samples)


def build_reconciliation_check(
    source: str, key: dg.AssetKey, partitions_def: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name="reconciliation",
        blocking=True,
        partitions_def=partitions_def,
        description="rows read = loaded + quarantined + duplicates, quarantined rows stay under the gate share, "
                    "and a reload reads no far fewer rows than the previous load unless confirmed",
    )
    def reconciliation(context, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        day = parse_partition(context.partition_key)
        with lake.session(warehouse.settings.lake, warehouse.settings, ods=True) as con:  # the lake, not the warehouse
            recs = day_reconciliation(con, day, source)
            groups = quarantine_groups(con, day, source)
            drops = row_drops(con, day, warehouse.settings, source)
        problems = [p for r in recs for p in r.problems(warehouse.settings)]
        confirmed = context.run.tags.get(ACCEPT_ROW_DROP_TAG) == "true"
        problems += [] if confirmed else [d.problem(warehouse.settings) for d in drops]
        metadata: dict[str, object] = {name: sum(getattr(r, name) for r in recs) for name in ROW_COUNTS}
        if drops:
            metadata["row_drop"] = "; ".join(d.problem(warehouse.settings) for d in drops)
            metadata["row_drop_confirmed"] = confirmed
        if problems:
            metadata["failed"] = "; ".join(problems)
        if groups:
            lines = [f"| {g.reason_code} | {g.rows} | {_cell(g.samples)} |" for g in groups]
            metadata["quarantine"] = dg.MetadataValue.md(
                "| reason | rows | examples (file:line reason raw) |\n|---|---|---|\n" + "\n".join(lines)
            )
        return dg.AssetCheckResult(passed=not problems, metadata=metadata)

    return reconciliation
