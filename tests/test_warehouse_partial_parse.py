"""The run day travels as dbt's event-time window, a run flag: the next day's build reuses the saved parse
(a var would make dbt parse the whole project again), and a window of anything but one UTC day is refused."""

from __future__ import annotations

import duckdb
import pytest

from fleetloop.ingest import ensure_ods_schema
from tests.fixtures.warehouse import run_dbt
from tests.test_warehouse_incremental import run_day_args

SELECT = ["--select", "+dwd_heartbeat"]  # a small model that reads the run day, and its parents
REUSED = "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed."


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("partial_parse") / "fleetloop.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_ods_schema(con)
    run_dbt(["seed"], path)
    run_dbt(["run", *SELECT, *run_day_args("2026-11-10")], path)
    return path


def test_next_day_reuses_the_parse(warehouse):
    out = run_dbt(["run", *SELECT, *run_day_args("2026-11-11"), "--debug"], warehouse)
    assert REUSED in out
    assert "Unable to do partial parsing" not in out


def test_a_var_would_have_reparsed(warehouse):
    """The control: the same build with a changed var is parsed again, so the check above can fail."""
    out = run_dbt(["run", *SELECT, *run_day_args("2026-11-12"), "--vars", "{probe: 1}", "--debug"], warehouse)
    assert "Unable to do partial parsing because config vars" in out
    assert REUSED not in out


def test_run_window_must_be_one_day(warehouse):
    with pytest.raises(RuntimeError, match="a run builds one UTC day"):
        run_dbt(["run", "--select", "dwd_heartbeat", "--event-time-start", "2026-11-10",
                 "--event-time-end", "2026-11-12"], warehouse)
