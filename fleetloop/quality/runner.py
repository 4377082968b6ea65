"""Validate a DuckDB table (or a day's partition of it) against a suite of ``expectations/``.

GX 1.x validates a pandas dataframe read from DuckDB. Partitions above ``sample_rows`` are validated on a
sample, and their row-level expectations are then counted on the whole partition in SQL, so a rare bad row
is never missed. Each invariant is validated once, where it is cheapest: an expectation that an upstream stage
the caller trusts establishes row by row (its ``meta.established_by``, e.g. the ODS load) is not validated
again, neither by GX nor in SQL; the result counts it as established.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field

import pandas as pd

from fleetloop.definitions import vehicle_classes
from fleetloop.quality import sql_checks
from fleetloop.quality.suites import load_suite

DEFAULT_SAMPLE_ROWS = 500_000
SAMPLE_FAILING_ROWS = 5
DUCKDB_TYPE_NAMES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ", "INTEGER": "BIGINT"}


@dataclass
class QualityResult:
    """Outcome of one suite on one table: ``failures`` holds one dict per failed expectation
    (expectation, column, unexpected_count, sample_rows); ``established`` counts the expectations not validated
    here because a trusted upstream stage establishes them; ``rows_validated``: the rows GX saw."""

    table: str
    suite: str
    success: bool
    rows: int
    rows_validated: int
    failures: list[dict] = field(default_factory=list)
    established: int = 0

    def summary(self) -> str:
        head = f"{self.suite} on {self.table}: {'ok' if self.success else 'FAILED'} ({self.rows} rows"
        if self.rows_validated < self.rows:
            head += f", GX on {self.rows_validated}"
        head += f", {self.established} expectations established upstream" if self.established else ""
        head += ")"
        lines = [head] + [f"  {f['expectation']} {f['column'] or ''}: {f['unexpected_count']} unexpected"
                          for f in self.failures]
        return "\n".join(lines)


def _vehicle_class_limits() -> str:
    values = ", ".join(f"('{name}', {float(row['max_speed_mps'])})" for name, row in vehicle_classes().items())
    return f"""select r.vehicle_id, c.class_max_speed_mps
        from (select vehicle_id, vehicle_class from ods.ods_vehicle_registry
              qualify row_number() over (partition by vehicle_id order by ts desc) = 1) r
        join (values {values}) c(vehicle_class, class_max_speed_mps) using (vehicle_class)"""


JOINS = {"vehicle_class_limits": _vehicle_class_limits}


def _base_sql(table: str, meta: dict, where: str | None) -> str:
    derived = meta.get("derived_columns", {})
    select = ", ".join(["t.*"] + [f"{expr} as {name}" for name, expr in derived.items()])
    joins = " ".join(f"left join ({JOINS[j]()}) using (vehicle_id)" for j in meta.get("joins", []))
    return f"select {select} from {table} t {joins} where {where or 'true'}"


def _column_of(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return ",".join(kwargs["column_list"]) if "column_list" in kwargs else None


def _column_types(con, table: str) -> dict[str, str]:
    return {name: DUCKDB_TYPE_NAMES.get(kind, kind) for name, kind, *_ in con.execute(f"describe {table}").fetchall()}


def _type_failures(actual: dict[str, str], types: dict[str, str]) -> list[dict]:
    return [{"expectation": "column_type", "column": name, "unexpected_count": 0,
             "sample_rows": [{"expected": kind, "actual": actual.get(name)}]}
            for name, kind in types.items() if actual.get(name, kind) != kind]


def _gx_results(df: pd.DataFrame, name: str, expectations: dict[int, dict]) -> dict[int, object]:
    """GX results of the suite's expectations (by index in the suite; GX reorders them, so each carries its index
    in meta)."""
    if not expectations:
        return {}
    import great_expectations as gx  # slow import: only when validating

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batch_definition = (context.data_sources.add_pandas("fleetloop").add_dataframe_asset("table")
                        .add_batch_definition_whole_dataframe("partition"))
    indexed = [e | {"meta": e.get("meta", {}) | {"fleetloop_index": i}} for i, e in expectations.items()]
    gx_suite = gx.ExpectationSuite(name=name, expectations=indexed)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    results = batch.validate(gx_suite, result_format={"result_format": "SUMMARY",
                                                      "partial_unexpected_count": SAMPLE_FAILING_ROWS}).results
    return {r.expectation_config.meta["fleetloop_index"]: r for r in results}


def _rows(df: pd.DataFrame, index: list) -> list[dict]:
    return df.loc[[i for i in index if i in df.index][:SAMPLE_FAILING_ROWS]].to_dict("records")


def validate_table(con, table: str, suite_name: str, where: str | None = None,
                   sample_rows: int = DEFAULT_SAMPLE_ROWS, trusted: Collection[str] = ()) -> QualityResult:
    """Validate ``table`` (rows matching the SQL predicate ``where``) against ``expectations/<suite>.json``,
    except the expectations ``established_by`` a stage in ``trusted``."""
    suite = load_suite(suite_name)
    meta = suite.get("meta", {}).get("fleetloop", {})
    actual = _column_types(con, table)
    base = _base_sql(table, meta, where)
    (rows,), = con.execute(f"select count(*) from ({base})").fetchall()
    sampled = rows > sample_rows
    failures = _type_failures(actual, meta.get("column_types", {}))
    checks = [(e["type"], e["kwargs"]) for e in suite["expectations"]]
    pending = {i: e for i, e in enumerate(suite["expectations"])
               if e.get("meta", {}).get("established_by") not in trusted}
    whole = [i for i in pending if sampled and sql_checks.supported(checks[i][0])]
    _, counts = sql_checks.count_unexpected(con, base, [checks[i] for i in whole]) if whole else (rows, [])
    counted = dict(zip(whole, counts, strict=True))
    on_frame = {i: e for i, e in pending.items() if i not in counted}  # what GX validates
    df = _frame(con, base, actual, rows, sample_rows) if on_frame else pd.DataFrame()
    validated = _gx_results(df, suite["name"], on_frame)
    for i in pending:
        kind, kwargs = checks[i]
        if i in counted:
            if counted[i] == 0 or _within_mostly(kwargs, counted[i], rows):
                continue
            failures.append({"expectation": kind, "column": _column_of(kwargs), "unexpected_count": counted[i],
                             "sample_rows": sql_checks.sample_unexpected(con, base, kind, kwargs, SAMPLE_FAILING_ROWS)})
        elif not (result := validated[i]).success:
            detail = result.result or {}
            failures.append({"expectation": kind, "column": _column_of(kwargs),
                             "unexpected_count": detail.get("unexpected_count"),
                             "sample_rows": _rows(df, detail.get("partial_unexpected_index_list") or []),
                             "observed_value": detail.get("observed_value"),
                             "exception": (result.exception_info or {}).get("exception_message")})
    return QualityResult(table, suite_name, not failures, int(rows), len(df), failures,
                         len(checks) - len(pending))


def _frame(con, base: str, actual: dict[str, str], rows: int, sample_rows: int) -> pd.DataFrame:
    """The rows GX validates: all of them, or a sample of ``sample_rows`` on average."""
    # Bernoulli sampling: a reservoir sample of DuckDB is several times slower on large partitions.
    sample = f" using sample {100.0 * sample_rows / rows:.6f} percent (bernoulli, 42)" if rows > sample_rows else ""
    # List cells make GX slow on every expectation: GX sees them as text (types are checked on the table).
    as_text = [f'"{name}"::varchar as "{name}"' for name, kind in actual.items() if kind.endswith("]")]
    star = f"* replace ({', '.join(as_text)})" if as_text else "*"
    return con.execute(f"select {star} from ({base}){sample}").df()


def _within_mostly(kwargs: dict, unexpected: int, rows: int) -> bool:
    return "mostly" in kwargs and rows > 0 and 1 - unexpected / rows >= kwargs["mostly"]
