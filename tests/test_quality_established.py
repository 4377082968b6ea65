"""What the ODS suites mark ``established_by: load`` really is established by the load: for every such
expectation of every source, a raw row that breaks it is quarantined under the rule that names it (a repeated
row counted as a duplicate), and GX then finds the loaded partition clean. This is what lets the ODS gate
validate those expectations on its sample only instead of recounting them on the whole partition."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from fleetloop.contract import SOURCES, Source
from fleetloop.ingest import connect
from fleetloop.paths import is_parquet, raw_files
from fleetloop.quality import validate_table
from fleetloop.quality.suites import LOAD_STAGE, load_suite
from tests.fixtures.ods import load, write_lines
from tests.fixtures.sim import fault_index, read_lines

# the reason codes a violation of each kind of expectation is quarantined under (None: counted as a duplicate)
EXPECTED_CODES = {
    "expect_column_values_to_not_be_null": {"missing_field"},
    "expect_column_values_to_be_in_set": {"unknown_enum"},
    "expect_column_values_to_be_between": {"out_of_range", "unit_error"},
    "expect_column_pair_values_a_to_be_greater_than_b": {"order_violation"},
    "expect_compound_columns_to_be_unique": None,
    "expect_column_values_to_be_unique": None,
}
LINEAGE = {"dt", "_source_file"}  # written by the loader itself: no raw row can break them
NOT_A_MEMBER = "not_a_member_of_the_set"


def established(source: Source) -> list[dict]:
    return [e for e in load_suite(source.ods_table)["expectations"]
            if e["meta"].get("established_by") == LOAD_STAGE]


def violations(source: Source, record: dict) -> list[tuple[dict, set[str] | None]]:
    """Variants of a valid ``record``, each breaking one established expectation, with the codes it must get.

    Each variant has its own key (the first key column suffixed), so that only the duplicate collides."""
    out: list[tuple[dict, set[str] | None]] = []
    key = source.primary_key[0]

    def variant(**changes) -> dict:
        return record | {key: f"{record[key]}_{len(out) + 1}"} | changes

    for e in established(source):
        kind, kw = e["type"], e["kwargs"]
        column = kw.get("column")
        if column in LINEAGE:
            continue
        if kind == "expect_column_values_to_not_be_null":
            changed = variant(**{column: None})
        elif kind == "expect_column_values_to_be_in_set":
            changed = variant(**{column: NOT_A_MEMBER})
        elif kind == "expect_column_values_to_be_between":
            changed = variant(**{column: kw["max_value"] + 1.0 if kw["max_value"] is not None
                                 else kw["min_value"] - 1.0})
        elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
            later, earlier = kw["column_A"], kw["column_B"]
            changed = variant(**{later: record[earlier], earlier: record[later]})
        elif EXPECTED_CODES.get(kind, ...) is None:
            changed = dict(record)
        else:
            raise AssertionError(f"no violating row for {kind}: add one to this test before marking it")
        out.append((changed, EXPECTED_CODES[kind]))
    return out


def _first_clean_row(sim_fleet, source: Source) -> tuple[dict, dt.date, Path]:
    """The first row the simulator did not label as a fault, as a dict, its day and its file."""
    labels = fault_index(sim_fleet)
    for day in sim_fleet.days:
        for path in raw_files(sim_fleet.landing, source.name, day):
            rel = path.resolve().relative_to(sim_fleet.landing.resolve()).as_posix()
            bad = labels.get(rel, set())
            if 0 in bad or path.name.startswith("late-"):
                continue
            if is_parquet(path):
                rows = duckdb.sql(f"select * from read_parquet('{path}') limit 200").fetchdf().to_dict("records")
                return next(r for i, r in enumerate(rows, start=1) if i not in bad), day, path
            line = next(text for i, text in enumerate(read_lines(path), start=1) if i not in bad)
            return json.loads(line), day, path
    pytest.skip(f"the test fleet has no {source.name} rows")


def _write_parquet(path, template, rows: list[dict]) -> None:
    """``rows`` as a Parquet file with the column types of the Parquet file ``template``."""
    con = duckdb.connect()
    con.execute(f"create table t as select * from read_parquet('{template}') limit 0")
    columns = [r[0] for r in con.execute("describe t").fetchall()]
    for row in rows:
        con.execute(f"insert into t values ({', '.join('?' for _ in columns)})", [row[c] for c in columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy t to '{path}' (format parquet)")
    con.close()


@pytest.mark.parametrize("name", list(SOURCES))
def test_a_row_breaking_an_established_expectation_never_reaches_ods(sim_fleet, tmp_path, name):
    source = SOURCES[name]
    record, day, template = _first_clean_row(sim_fleet, source)
    cases = violations(source, record)
    assert cases or not established(source)
    rows = [record] + [changed for changed, _ in cases]
    landing = tmp_path / "landing"
    if is_parquet(template):
        _write_parquet(landing / name / f"dt={day.isoformat()}" / "cases.parquet", template, rows)
        file = "cases.parquet"
    else:
        write_lines(landing, name, day, "cases.jsonl", [json.dumps(r, default=str) for r in rows])
        file = "cases.jsonl"
    con = connect(tmp_path / "wh.duckdb")
    try:
        report = load(con, landing, name, day)
        codes = {n: code for n, code in con.execute(
            "select line_number, reason_code from ods.ods_quarantine where source = ?", [name]).fetchall()}
        for line, (changed, expected) in enumerate(cases, start=2):
            if expected is None:
                assert line not in codes, f"{name}: the repeated row was quarantined as {codes.get(line)}"
            else:
                assert codes.get(line) in expected, f"{name} line {line} {changed}: {codes.get(line)}"
        assert report.rows_duplicate == sum(expected is None for _, expected in cases)
        assert report.rows_loaded == 1, f"{name}: the valid row did not load ({codes.get(1)})"
        result = validate_table(con, f"ods.{source.ods_table}", source.ods_table, where=f"dt = '{day}'")
        broken = {(f["expectation"], f["column"]) for f in result.failures}
        assert not broken & {(e["type"], e["kwargs"].get("column")) for e in established(source)}, result.summary()
        (loaded_file,), = con.execute(f"select distinct _source_file from ods.{source.ods_table}").fetchall()
        assert loaded_file.endswith(file)
    finally:
        con.close()
        shutil.rmtree(landing, ignore_errors=True)
