"""The trigger definitions as the SQL reads them (macros/trigger_params.sql): a literal with the seed's value once
the thresholds table exists, a subquery before, and a clear error for a definition the seed does not hold."""

from __future__ import annotations

import duckdb
import pytest

from fleetloop.definitions import trigger_params
from tests.fixtures.warehouse import run_dbt

# the class-independent definitions the models read through definition()
DEFINED = {"run": ("sample_period_s", "run_gap_s", "pose_max_gap_s", "day_margin_s"),
           "phantom": ("max_track_s", "max_confidence", "ahead_m")}


def test_definitions_compile_to_the_seed_values_as_literals(dbt_warehouse):
    pairs = [(t, p) for t, params in DEFINED.items() for p in params]
    sql = "select " + ", ".join(f"{{{{ definition('{t}', '{p}') }}}}" for t, p in pairs)
    compiled = run_dbt(["compile", "--quiet", "--inline", sql], dbt_warehouse).strip()
    assert "select" in compiled and "from" not in compiled.split("select", 1)[1]  # literals, no subquery
    values = duckdb.connect().execute(compiled).fetchone()
    assert list(values) == [trigger_params(t)[p] for t, p in pairs]


def test_before_the_thresholds_exist_a_definition_is_a_subquery(tmp_path):
    compiled = run_dbt(["compile", "--quiet", "--inline", "select {{ definition('run', 'day_margin_s') }}"],
                       tmp_path / "empty.duckdb")
    assert "dwd_trigger_threshold" in compiled and "day_margin_s" in compiled


def test_a_definition_the_seed_does_not_hold_is_a_compile_error(dbt_warehouse):
    with pytest.raises(RuntimeError, match="no single trigger definition where .*parameter = 'no_such_param'"):
        run_dbt(["compile", "--quiet", "--inline", "select {{ definition('run', 'no_such_param') }}"], dbt_warehouse)
