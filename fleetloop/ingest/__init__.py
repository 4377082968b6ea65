"""The ODS load: raw landing files in, validated ODS partitions, quarantine and reconciliation out (in the lake)."""

from fleetloop.ingest.loader import LoadReport, load_partition
from fleetloop.ingest.schema import ensure_ods_schema
from fleetloop.warehouse import connect

__all__ = ["LoadReport", "connect", "ensure_ods_schema", "load_partition"]
