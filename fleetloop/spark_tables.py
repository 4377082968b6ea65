"""Spark's tables in the working DuckDB file, so that everything after dbt reads one warehouse on either engine.

On the Spark engine dbt builds the models as Parquet tables under Spark's warehouse folder; the tag store, the
scorer, the publication and the analysts' file read DuckDB. After each dbt invocation on Spark, every seed and
model it built is copied into the DuckDB table of the same name: first an empty build on the ``duckdb`` target
creates the tables with DuckDB's own types (a copy is typed exactly as the DuckDB build types it, an empty Spark
table included), then each is refilled from its Parquet files. The copy is of whole tables (every day), which a
one-machine working file can afford; on a cluster, analysts read Spark's tables where they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb

from fleetloop.settings import Settings
from fleetloop.spark import spark_warehouse_dir

BUILT = ("success",)  # run_results statuses of a node whose table Spark wrote


def table_folder(settings: Settings, schema: str, table: str) -> Path:
    """The folder of a managed Spark table (Spark's layout: ``<warehouse>/<schema>.db/<table>``)."""
    return spark_warehouse_dir(settings) / f"{schema}.db" / table


def built_relations(run_results: Mapping, manifest: Mapping) -> list[tuple[str, str]]:
    """``(schema, name)`` of every seed and model an invocation built, from dbt's artifacts."""
    out = []
    for result in run_results["results"]:
        node = manifest["nodes"].get(result["unique_id"])
        if node and node["resource_type"] in ("seed", "model") and result["status"] in BUILT:
            out.append((node["schema"], node.get("alias") or node["name"]))
    return out


def _parquet_files(folder: Path) -> list[str]:
    """The data files of a Spark table: Parquet at any partition depth, not Spark's ``_``/``.`` bookkeeping."""
    return sorted(str(p) for p in folder.rglob("*.parquet")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts))


def copy_spark_tables(con: duckdb.DuckDBPyConnection, settings: Settings,
                      relations: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Replace each DuckDB table ``schema.table`` by the rows of its Spark table (columns by name, cast to the
    DuckDB table's types; ``dt`` from the partition folders); rows per table."""
    rows = {}
    for schema, table in relations:
        folder = table_folder(settings, schema, table)
        if not folder.is_dir():
            raise FileNotFoundError(f"Spark built {schema}.{table} but its folder {folder} is missing")
        files = _parquet_files(folder)
        partitioned = any("=" in Path(f).relative_to(folder).parts[0] for f in files)
        con.execute("begin")
        con.execute(f'delete from "{schema}"."{table}"')
        if files:
            con.execute(f'insert into "{schema}"."{table}" by name select * from read_parquet(?, '
                        f"hive_partitioning = {str(partitioned).lower()}, union_by_name = true)", [files])
        con.execute("commit")
        rows[f"{schema}.{table}"] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    return rows
