"""ODS assets: one daily-partitioned asset per raw source, generated from the contract. Each writes its
source-day into the lake (``fleetloop.lake``) and never opens the working warehouse, so they can run side by
side; the warehouse's ODS views read the lake (attached before dbt builds)."""

# No ``from __future__ import annotations``: Dagster resolves the parameter annotations at definition time.

import dagster as dg

from dagster_pipelines.automation.landing import raw_key
from dagster_pipelines.resources import WarehouseResource
from fleetloop.contract import SOURCES, Source
from fleetloop.ingest import load_partition
from fleetloop.ingest.schema import table_name
from fleetloop.lake import day_folder
from fleetloop.reconciliation import ACCEPT_ROW_DROP_TAG, COUNTS


def build_ods_asset(source: Source, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The asset ``['ods', 'ods_<source>']`` that loads one day of ``source`` into the lake's ODS."""

    @dg.asset(
        name=source.ods_table,
        key_prefix=["ods"],
        group_name="ods",
        partitions_def=partitions_def,
        kinds={"duckdb", "parquet"},
        description=f"ODS {source.name}: {source.description} ({source.rate}); validated raw landing rows, "
                    f"rejected rows in ods.ods_quarantine, counts in ods.ods_reconciliation.",
        metadata={"dagster/table_name": table_name(source), "primary_key": ", ".join(source.primary_key)},
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        settings = warehouse.settings
        report = load_partition(settings.lake, warehouse.landing_path, source.name, context.partition_key,
                                settings=settings, accept_row_drop=context.run.tags.get(ACCEPT_ROW_DROP_TAG) == "true")
        context.log.info(f"{source.name} {report.day}: {report.as_dict()}")
        # the raw partition as the load saw it: visible on the raw asset's page as an observation
        context.log_event(dg.AssetObservation(asset_key=raw_key(source.name), partition=context.partition_key,
                                              metadata={"files": report.files, "rows_read": report.rows_read}))
        if not report.balanced:
            raise dg.Failure(f"{source.name} {report.day}: {report.rows_unaccounted} rows unaccounted for",
                             metadata=report.as_dict())
        metadata = {name: getattr(report, name) for name in COUNTS}
        return dg.MaterializeResult(metadata=metadata | {
            "files_quarantined": report.files_quarantined,
            "seconds": report.seconds,
            "path": str(day_folder(settings.lake, source.name, report.day)),
            "dagster/row_count": report.rows_loaded,
        })

    return _asset


def build_ods_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_ods_asset(s, partitions_def) for s in SOURCES.values()]
