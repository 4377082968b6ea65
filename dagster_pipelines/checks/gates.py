"""All blocking gates of the graph: reconciliation on each ODS asset, GE suites on ODS and ADS assets."""

from __future__ import annotations

import dagster as dg

from dagster_pipelines.checks.expectations import build_expectation_check, suite_tables
from dagster_pipelines.checks.reconciliation import build_reconciliation_check


def build_gates(
    graph: dg.AssetGraph, ods_keys: dict[str, dg.AssetKey], partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetChecksDefinition]:
    """Reconciliation gates for ``ods_keys`` and a GE gate for every ODS/ADS asset that has a suite (on the
    day's rows of a daily asset, on the whole table of an all-days one)."""
    gates = [build_reconciliation_check(s, k, partitions_def) for s, k in sorted(ods_keys.items())]
    by_table = {k.path[-1]: k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    for table in suite_tables():
        if table in by_table and table.startswith(("ods_", "ads_")):
            key = by_table[table]
            gates.append(build_expectation_check(table, key, graph.get(key).partitions_def))
    return gates
