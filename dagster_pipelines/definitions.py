"""The one Dagster code location (``[tool.dagster]`` in pyproject): raw -> ODS -> DWD -> DWS -> ADS -> scorer ->
published -> report as one lineage graph, with blocking quality gates, a nightly schedule and a late-data sensor.

Each domain package (``ods``, ``warehouse``, ``scene``, ``scorer``) exposes ``build_defs(settings, partitions)``;
this module merges them and adds the cross-domain parts (raw landing, gates, publication, report, jobs, automation).
Settings are resolved once here, at the code location's edge (``Settings.from_env`` for ``dagster dev`` and the UI;
the operators' shell passes its own), and reach every asset through the ``warehouse`` resource.
"""

from __future__ import annotations

import importlib

import dagster as dg

from fleetloop.settings import Settings

DOMAIN_PACKAGES = ("dagster_pipelines.ods", "dagster_pipelines.warehouse", "dagster_pipelines.scene",
                   "dagster_pipelines.scorer", "dagster_pipelines.curriculum")


def _ods_keys(keys: list[dg.AssetKey]) -> dict[str, dg.AssetKey]:
    """``{source: ODS asset key}`` for the contract's sources (asset named ``ods_<source>``)."""
    from fleetloop.contract import SOURCES

    by_table = {k.path[-1]: k for k in keys}
    return {s: by_table[src.ods_table] for s, src in SOURCES.items() if src.ods_table in by_table}


def _with_raw_deps(assets: list, ods_keys: dict[str, dg.AssetKey]) -> list:
    """Make every ODS asset depend on its raw landing asset, so the graph starts at raw."""
    from dagster_pipelines.automation.landing import raw_key

    source_of = {k: s for s, k in ods_keys.items()}

    def add_raw(spec: dg.AssetSpec) -> dg.AssetSpec:
        source = source_of.get(spec.key)
        if source is None or raw_key(source) in {d.asset_key for d in spec.deps}:
            return spec
        return spec.merge_attributes(deps=[raw_key(source)])

    return [a.map_asset_specs(add_raw) if isinstance(a, dg.AssetsDefinition) else a for a in assets]


def build_definitions(settings: Settings) -> dg.Definitions:
    """Compose the domains' assets with the cross-domain parts, all configured by ``settings``."""
    from dagster_pipelines.automation.landing import build_late_data_sensor, raw_asset_specs
    from dagster_pipelines.automation.schedule import build_nightly_schedule
    from dagster_pipelines.checks.gates import build_gates
    from dagster_pipelines.jobs import LOGGERS, build_daily_job
    from dagster_pipelines.partitions import daily_partitions
    from dagster_pipelines.publish.assets import build_published_asset
    from dagster_pipelines.report import build_report_asset
    from dagster_pipelines.resources import resources

    partitions = daily_partitions(settings)
    domains = dg.Definitions.merge(
        dg.Definitions(resources=resources(settings)),
        *(importlib.import_module(name).build_defs(settings, partitions) for name in DOMAIN_PACKAGES),
    )
    graph = domains.resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    ods_keys = _ods_keys(keys)
    leaves = sorted((k for k in keys if not graph.get(k).child_keys), key=lambda k: k.to_user_string())
    published = build_published_asset(partitions, leaves, list(ods_keys.values()))
    job = build_daily_job(partitions)
    return dg.Definitions(
        assets=[*raw_asset_specs(partitions), *_with_raw_deps(list(domains.assets or []), ods_keys), published,
                build_report_asset(partitions)],
        asset_checks=[*(domains.asset_checks or []), *build_gates(graph, ods_keys, partitions)],
        jobs=[job],
        schedules=[build_nightly_schedule(job)],
        sensors=[build_late_data_sensor(job, ods_keys, partitions)],
        resources=domains.resources,
        executor=dg.in_process_executor,
        loggers=LOGGERS,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location ``dagster dev`` and the UI load: settings from the environment (the Dagster edge)."""
    return build_definitions(Settings.from_env())
