"""The HTML report: an asset downstream of the publication, so every run that publishes refreshes it."""

from dagster_pipelines.report.assets import REPORT_KEY, build_report_asset

__all__ = ["REPORT_KEY", "build_report_asset"]
