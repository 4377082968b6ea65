"""Expectation suites as JSON files: the ODS ones generated from the raw log contract and the seeds,
the ADS ones written by hand. ``fleetloop quality suites`` rewrites the generated files."""

from __future__ import annotations

import json
from pathlib import Path

from fleetloop.contract import SOURCES, Source
from fleetloop.definitions import read_seed

EXPECTATIONS_DIR = Path(__file__).resolve().parent / "expectations"  # package data
ODS_LINEAGE_COLUMNS = {"dt": "DATE", "_source_file": "VARCHAR", "_line_number": "BIGINT", "_loaded_at": "TIMESTAMPTZ"}
# Speeds above the vehicle class's top speed by more than this factor are implausible (e.g. km/h as m/s).
SPEED_PLAUSIBLE_FACTOR = 1.2
# Seed dictionaries that constrain ODS columns beyond the contract's enums.
SEED_DOMAINS = {
    ("error_code", "code"): ("error_code_catalog", "code"),
    ("error_code", "module"): ("error_code_catalog", "module"),
    ("vehicle_registry", "vehicle_class"): ("vehicle_classes", "vehicle_class"),
    ("software_deployment", "version"): ("software_versions", "version"),
}


# ``meta.established_by`` of an expectation that the ODS load enforces row by row (its rules quarantine a row
# that breaks it, its duplicate search keeps the primary key unique, it writes the lineage columns).
LOAD_STAGE = "load"
ESTABLISHED_BY_LOAD = {"established_by": LOAD_STAGE}


def expectation(kind: str, meta: dict | None = None, **kwargs) -> dict:
    return {"type": f"expect_{kind}", "kwargs": kwargs, "meta": dict(meta or {})}


def _column_expectations(source: Source) -> list[dict]:
    out = []
    for f in source.fields:
        if not f.nullable:
            out.append(expectation("column_values_to_not_be_null", ESTABLISHED_BY_LOAD, column=f.name))
        domain = SEED_DOMAINS.get((source.name, f.name))
        if domain:
            values = sorted({r[domain[1]] for r in read_seed(domain[0])})
            out.append(expectation("column_values_to_be_in_set", column=f.name, value_set=values))
        elif f.allowed:
            out.append(expectation("column_values_to_be_in_set", ESTABLISHED_BY_LOAD, column=f.name,
                                   value_set=list(f.allowed)))
        if (f.minimum is not None or f.maximum is not None) and f.type == "DOUBLE":
            out.append(expectation("column_values_to_be_between", ESTABLISHED_BY_LOAD, column=f.name,
                                   min_value=f.minimum, max_value=f.maximum))
    return out


def _source_specific(source: Source) -> tuple[list[dict], dict, list[str]]:
    """Expectations on derived columns (computed in SQL by the runner), the derivations and their joins."""
    cols = source.fields_by_name
    derived: dict[str, str] = {}
    joins: list[str] = []
    out: list[dict] = []
    if "speed_mps" in cols and "vehicle_id" in cols:
        derived["speed_to_class_max"] = "speed_mps / class_max_speed_mps"
        joins.append("vehicle_class_limits")
        out.append(expectation("column_values_to_be_between", column="speed_to_class_max", min_value=0.0,
                               max_value=SPEED_PLAUSIBLE_FACTOR))
    if "candidate_scores" in cols:
        derived |= {"candidate_count": "len(candidate_scores)", "candidate_score_min": "list_min(candidate_scores)",
                    "candidate_score_max": "list_max(candidate_scores)"}
        out += [expectation("column_values_to_be_between", column="candidate_count", min_value=2),
                expectation("column_values_to_be_between", column="candidate_score_min", min_value=0.0),
                expectation("column_values_to_be_between", column="candidate_score_max", max_value=1.0)]
    for earlier, later in source.orderings:
        out.append(expectation("column_pair_values_a_to_be_greater_than_b", ESTABLISHED_BY_LOAD, column_A=later,
                               column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing"))
    return out, derived, joins


def ods_suite(source: Source) -> dict:
    """The suite of one ODS table: columns and types, nullability, enums, ranges, primary key, units."""
    types = {f.name: f.type for f in source.fields} | ODS_LINEAGE_COLUMNS
    specific, derived, joins = _source_specific(source)
    key = list(source.primary_key)
    unique = (expectation("compound_columns_to_be_unique", ESTABLISHED_BY_LOAD, column_list=key) if len(key) > 1
              else expectation("column_values_to_be_unique", ESTABLISHED_BY_LOAD, column=key[0]))
    return {
        "name": source.ods_table,
        "expectations": [
            expectation("table_columns_to_match_set", column_set=list(types) + list(derived), exact_match=True),
            *_column_expectations(source),
            *(expectation("column_values_to_not_be_null", ESTABLISHED_BY_LOAD, column=c)
              for c in ("dt", "_source_file")),
            unique,
            *specific,
        ],
        "meta": {"fleetloop": {"generated_from": "fleetloop.contract", "column_types": types,
                               "derived_columns": derived, "joins": joins}},
    }


def suite_path(name: str) -> Path:
    return EXPECTATIONS_DIR / f"{name}.json"


def render(suite: dict) -> str:
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def write_ods_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """Write every ODS suite generated from the contract; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for source in SOURCES.values():
        path = directory / f"{source.ods_table}.json"
        path.write_text(render(ods_suite(source)), encoding="utf-8")
        paths.append(path)
    return paths


def load_suite(name: str) -> dict:
    """A suite file of ``expectations/`` as a dict; a clear error for an unknown name."""
    path = suite_path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json")))
        raise FileNotFoundError(f"no expectation suite {name!r} in {EXPECTATIONS_DIR}; known: {known}")
    return json.loads(path.read_text(encoding="utf-8"))
