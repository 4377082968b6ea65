"""Reference data shared by Python and dbt: the dbt seeds are the single source of truth.

Trigger thresholds (with the parameter rows ``run``: sample period, run gap, pose gap, day margin; ``phantom``:
a phantom-looking object; ``case``: the case window), the trigger catalog (what each trigger's cases get),
vehicle classes, road types, the error-code catalog and the ASR keyword dictionary are CSV files in
``fleetloop/seeds/``; dbt loads them as tables and Python code (simulator, reference triggers, counterfactual
scorer) reads the same files through this module.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"  # package data: dbt's seed-paths points here too
DEFAULT_CLASS = "*"


@cache
def read_seed(name: str) -> tuple[dict[str, str], ...]:
    """Rows of ``seeds/<name>.csv`` as dicts of strings."""
    path = SEEDS_DIR / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


def trigger_params(trigger: str, vehicle_class: str = DEFAULT_CLASS) -> dict[str, float]:
    """Thresholds of one trigger for one vehicle class: class-specific rows override ``*``."""
    params: dict[str, float] = {}
    overrides: dict[str, float] = {}
    for row in read_seed("trigger_definitions"):
        if row["trigger"] != trigger:
            continue
        if row["vehicle_class"] == DEFAULT_CLASS:
            params[row["parameter"]] = float(row["value"])
        elif row["vehicle_class"] == vehicle_class:
            overrides[row["parameter"]] = float(row["value"])
    if not params:
        raise KeyError(f"no trigger definition for {trigger!r} in seeds/trigger_definitions.csv")
    return params | overrides


def triggers() -> list[str]:
    """The event triggers, in catalog order: the catalog's entries that have thresholds. (The catalog's
    ``perception_suspect`` is a case flag; the ``run``, ``phantom`` and ``case`` rows of the definitions are
    parameters.)"""
    defined = {r["trigger"] for r in read_seed("trigger_definitions")}
    return [r["trigger"] for r in read_seed("trigger_catalog") if r["trigger"] in defined]


# catalog columns read as float (empty: None)
CATALOG_NUMBERS = ("max_lateral_deviation_m", "check_window_s", "tier_margin_mps2")


def trigger_catalog() -> dict[str, dict]:
    """What each trigger's cases get, by trigger (``seeds/trigger_catalog.csv``): family, action
    ('counterfactual', 'raw_upload' or 'ops_ticket'), resolved_by (the scorer check that decides whether a
    solution resolves it), max_lateral_deviation_m and check_window_s (floats, None where empty) and
    description."""
    return {r["trigger"]: r | {k: float(r[k]) if r[k].strip() else None for k in CATALOG_NUMBERS}
            for r in read_seed("trigger_catalog")}


def vehicle_classes() -> dict[str, dict[str, str]]:
    """Vehicle classes by name with their kinematic limits (strings, as in the seed)."""
    return {r["vehicle_class"]: r for r in read_seed("vehicle_classes")}
