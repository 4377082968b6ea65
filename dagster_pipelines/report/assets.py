"""``report/fleetloop_report``: the HTML report rewritten from the published warehouse after each publication."""

# No ``from __future__ import annotations``: Dagster resolves the resource annotation at definition time.
import dagster as dg

from dagster_pipelines.publish.assets import PUBLISHED_KEY
from dagster_pipelines.resources import WarehouseResource
from fleetloop.report.html import report_path, write_report

REPORT_KEY = dg.AssetKey(["report", "fleetloop_report"])


def build_report_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The report asset, partitioned like the publication it follows (nightly, rerun and late-data runs)."""

    @dg.asset(
        key=REPORT_KEY,
        deps=[PUBLISHED_KEY],
        partitions_def=partitions_def,
        group_name="published",
        kinds={"html"},
        description=(
            "One self-contained HTML page (inline SVG charts, no script, no network) of every published day: KPIs, "
            "rates with exact intervals, autonomy, versions, site health, the top counterfactual cases, data quality."
        ),
    )
    def fleetloop_report(context, warehouse: WarehouseResource) -> dg.MaterializeResult:
        settings = warehouse.settings
        out = write_report(settings.published, report_path(settings))
        context.log.info(f"report written: {out}")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out)),
                                              "bytes": out.stat().st_size})

    return fleetloop_report
