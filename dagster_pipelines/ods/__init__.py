"""ODS layer: one daily-partitioned load asset per raw source (see ``assets``)."""

from dagster_pipelines.ods.assets import build_ods_asset, ods_assets

__all__ = ["build_ods_asset", "ods_assets"]
