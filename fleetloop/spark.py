"""The local Spark of an installation: one configuration for dbt-spark's session and for Python readers.

dbt-spark (``method: session``) builds its SparkSession from the profile's ``server_side_parameters``;
``spark_conf`` is that dictionary, so that a reader in the same process (``spark_session``) gets the same session
(Spark's ``getOrCreate``): the same warehouse folder, the same embedded Derby metastore (under
``<home>/spark/``, never the working directory), UTC, bounded driver memory. The lake reaches the dbt project
as the Spark setting ``LAKE_CONF`` (read by macro ``register_ods_lake``): a per-installation constant, so a new
day keeps dbt's partial parse.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from fleetloop.settings import Settings, spark_workers_run_this_python

LAKE_CONF = "spark.fleetloop.lake"
SHUFFLE_PARTITIONS = 4  # small data per run: a few partitions, not Spark's 200
_DUCKDB_UNITS = {"kb": "k", "kib": "k", "mb": "m", "mib": "m", "gb": "g", "gib": "g", "tb": "t", "tib": "t"}


def spark_memory(memory_limit: str) -> str:
    """A DuckDB memory limit ('4GB', '500MiB') as a JVM size ('4g', '500m')."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]+)\s*", memory_limit)
    if not match or match.group(2).lower() not in _DUCKDB_UNITS:
        raise ValueError(f"memory limit {memory_limit!r} is not <integer><KB|MB|GB|TB>")
    return match.group(1) + _DUCKDB_UNITS[match.group(2).lower()]


def spark_cores(settings: Settings) -> int:
    """Local Spark's cores: the settings' threads, else the cores this process may run on."""
    if settings.threads:
        return settings.threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def spark_warehouse_dir(settings: Settings) -> Path:
    """Where local Spark keeps its managed tables (``spark.sql.warehouse.dir``)."""
    return settings.home / "spark" / "warehouse"


def spark_conf(settings: Settings) -> dict[str, str]:
    """The Spark settings of this installation's local session (dbt-spark's ``server_side_parameters``)."""
    root = settings.home / "spark"
    return {
        "spark.master": f"local[{spark_cores(settings)}]",
        "spark.app.name": "fleetloop",
        "spark.sql.warehouse.dir": str(spark_warehouse_dir(settings)),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root / 'derby'}",
        "spark.driver.memory": spark_memory(settings.memory_limit),
        "spark.sql.shuffle.partitions": str(SHUFFLE_PARTITIONS),
        "spark.sql.session.timeZone": settings.time_zone,
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # timestamps as Parquet's UTC-adjusted int64 micros (DuckDB reads them as TIMESTAMPTZ), not legacy INT96
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.enabled": "false",
        LAKE_CONF: str(settings.lake),
    }


def spark_session(settings: Settings):
    """The installation's SparkSession (created on first use, with Hive support as dbt-spark creates it)."""
    from pyspark.sql import SparkSession

    spark_workers_run_this_python()
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    # dbt-spark turns ANSI mode off on its sessions: the same SQL semantics for readers of this session
    return builder.config("spark.sql.ansi.enabled", "false").getOrCreate()
