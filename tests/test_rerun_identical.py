"""Reruns are bit-identical: rebuilding a day of the test fleet twice leaves every DWS and ADS table with exactly
the same rows, to the last bit of every double (sums are exact, so no thread split can change them)."""

from __future__ import annotations

import duckdb
import pytest

from tests.fixtures.warehouse import copy_warehouse, run_dbt
from tests.test_warehouse_incremental import run_day_args

LAYERS = ("dws", "ads")
FROM_THE_TAG_STORE = ("ads.ads_scene_rate",)  # reads the tag store, a Dagster asset: empty in a plain dbt build


def checksums(path) -> dict[str, tuple[int, int]]:
    """Per DWS and ADS table: row count and the exact sum of the rows' hashes (a hash covers every bit of every
    column; the sum is order-independent)."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            f"where table_catalog = current_database() and table_schema in {LAYERS} order by 1").fetchall()]
        return {t: con.execute(f"select count(*), coalesce(sum(hash(r)::hugeint), 0) from {t} as r").fetchone()
                for t in tables}


@pytest.fixture(scope="module")
def rebuilt_twice(ods_warehouse, dbt_warehouse, tmp_path_factory):
    """Checksums of a copy of the built warehouse after its last day was rebuilt once, then again."""
    path = copy_warehouse(dbt_warehouse, tmp_path_factory.mktemp("rerun"))
    day = run_day_args(ods_warehouse.days[-1])
    runs = []
    for _ in range(2):
        run_dbt(["run", "--select", "dwd_drive_mode_segment+", *day], path)
        runs.append(checksums(path))
    return runs


def test_rerun_is_bit_identical(rebuilt_twice):
    first, second = rebuilt_twice
    assert len(first) >= 25 and all(rows > 0 for t, (rows, _) in first.items() if t not in FROM_THE_TAG_STORE)
    assert {t: (first[t], second[t]) for t in first if first[t] != second[t]} == {}


def test_rerun_equals_the_full_build_exactly(dbt_warehouse, rebuilt_twice):
    """A day rebuilt alone sums the same terms as the full build, so the tables agree to the bit."""
    full = checksums(dbt_warehouse)
    assert {t: (full[t], rebuilt_twice[0][t]) for t in full if full[t] != rebuilt_twice[0][t]} == {}
