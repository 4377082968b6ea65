"""The ODS load of the simulated test fleet against the simulator's ground truth (``_truth/faults.parquet``)."""

import zlib

import duckdb
import pytest

from fleetloop.contract import SOURCES


@pytest.fixture(scope="module")
def truth(sim_fleet) -> list[tuple]:
    path = sim_fleet.truth_dir / "faults.parquet"
    return duckdb.sql(f"select source, dt, file, line_number, fault_class, expected_handling, expected_reason_code "
                      f"from read_parquet('{path}')").fetchall()


def _truncated_files(truth) -> list[str]:
    return [f for _, _, f, _, fault, _, _ in truth if fault == "truncated_gzip"]


def _recovered(path) -> tuple[int, int]:
    """Complete lines and cut-off last lines (0 or 1) zlib recovers from a truncated gzip file."""
    data = zlib.decompressobj(wbits=31).decompress(path.read_bytes())
    return data.count(b"\n"), int(bool(data) and not data.endswith(b"\n"))


def test_every_source_and_day_balances(ods_warehouse):
    assert len(ods_warehouse.reports) == len(SOURCES) * len(ods_warehouse.days)
    assert all(r.rows_unaccounted == 0 for r in ods_warehouse.reports)
    with ods_warehouse.connect() as con:
        rows = con.execute("select source, dt, rows_read - rows_loaded - rows_quarantined - rows_duplicate, "
                           "rows_unaccounted from ods.ods_reconciliation").fetchall()
    assert len(rows) == len(SOURCES) * len(ods_warehouse.days)
    assert all(gap == 0 and un == 0 for _, _, gap, un in rows)


def test_every_quarantine_fault_is_quarantined_with_its_reason_at_its_line(ods_warehouse, truth):
    expected = {(s, d, f, n, code) for s, d, f, n, _, handling, code in truth if handling == "quarantine"}
    assert expected, "the test fleet has no quarantine faults"
    assert {code for *_, code in expected} >= {"malformed_json", "missing_field", "wrong_type", "unknown_enum",
                                               "clock_skew", "unit_error", "truncated_gzip", "empty_file"}
    with ods_warehouse.connect() as con:
        got = set(con.execute("select source, dt, source_file, line_number, reason_code from ods.ods_quarantine")
                  .fetchall())
    assert expected - got == set()
    # nothing else is quarantined but the cut-off last line of each truncated gzip
    extra = got - expected
    assert {(f, code) for _, _, f, _, code in extra} <= {(f, "truncated_gzip") for f in _truncated_files(truth)}
    assert len(extra) == sum(_recovered(ods_warehouse.landing / f)[1] for f in _truncated_files(truth))


def test_duplicates_are_counted_not_loaded(ods_warehouse, truth):
    resent = sum(_recovered(ods_warehouse.landing / f)[0] for f in _truncated_files(truth))
    for source in SOURCES:
        want = sum(1 for s, *_, handling, _ in truth if s == source and handling == "duplicate")
        if source == "heartbeat":
            want += resent  # the salvaged lines of a truncated resend repeat rows already landed
        got = sum(r.rows_duplicate for r in ods_warehouse.reports if r.source == source)
        assert got == want, source


def test_out_of_order_rows_and_late_files_are_loaded(ods_warehouse, truth):
    loaded = [(s, f, n) for s, _, f, n, fault, _, _ in truth if fault in ("out_of_order", "late_file")]
    assert any(n == 0 for *_, n in loaded) and any(n > 0 for *_, n in loaded)
    with ods_warehouse.connect() as con:
        for source, file, line in loaded:
            table = SOURCES[source].ods_table
            if line == 0:
                n = con.execute(f"select count(*) from ods.{table} where _source_file = ?", [file]).fetchone()[0]
            else:
                n = con.execute(f"select count(*) from ods.{table} where _source_file = ? and _line_number = ?",
                                [file, line]).fetchone()[0]
            assert n >= 1, (source, file, line)


def test_rows_read_match_what_the_simulator_wrote(ods_warehouse, sim_fleet, truth):
    resent = sum(sum(_recovered(ods_warehouse.landing / f)) for f in _truncated_files(truth))
    for source, written in sim_fleet.rows.items():
        read = sum(r.rows_read for r in ods_warehouse.reports if r.source == source)
        assert read == written + (resent if source == "heartbeat" else 0), source
