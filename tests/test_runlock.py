"""One run at a time per warehouse (real processes on a real lock file, real Dagster runs through the
``warehouse`` resource), and a run's children die with it (SIGKILL of the parent)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_pipelines.resources import WarehouseResource
from dagster_pipelines.warehouse.project import DBT_EXECUTABLE
from fleetloop.runlock import RunLock, RunLockBusy, current_holder, holding, lock_path
from fleetloop.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 60.0

HOLDER = """
import sys
from fleetloop.runlock import holding
with holding(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
print("done", flush=True)
"""

# a Dagster run (dg.materialize through the warehouse resource) that waits for a go file before finishing
DAGSTER_RUN = """
import sys, time
from pathlib import Path
import dagster as dg
from dagster_pipelines.resources import WarehouseResource
from fleetloop.runlock import current_holder
from fleetloop.settings import Settings

settings = Settings.for_home(sys.argv[1])
go = Path(sys.argv[2])

@dg.asset
def slow(context, warehouse: WarehouseResource):
    print("holder", current_holder(settings.warehouse).run_id, context.run_id, flush=True)
    while not go.exists():
        time.sleep(0.05)

result = dg.materialize([slow], resources={"warehouse": WarehouseResource.from_settings(settings)})
print("success", result.success, flush=True)
"""


def _python(code: str, *args: str, stdin=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, text=True,
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _line(proc: subprocess.Popen, prefix: str) -> str:
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"process {proc.pid} ended without printing {prefix!r} (exit {proc.wait()})")


def test_second_run_is_refused_naming_the_first_which_completes(tmp_path):
    db = tmp_path / "w.duckdb"
    first = _python(HOLDER, str(db), "abcd1234-run-a", stdin=subprocess.PIPE)
    try:
        _line(first, "held")
        with pytest.raises(RunLockBusy) as refused:
            RunLock(db).acquire("run-b")
        message = str(refused.value)
        assert f"another fleetloop run (pid {first.pid}, run abcd1234, since " in message
        assert re.search(r"since \d\d:\d\d:\d\d UTC\) is writing ", message)
        assert message.endswith(f"is writing {db}; wait for it or stop it")
        assert current_holder(db).pid == first.pid
        first.stdin.write("\n")
        first.stdin.flush()
        assert _line(first, "done") == "done" and first.wait(WAIT_S) == 0
    finally:
        first.kill()
    with holding(db, "run-b") as lock:  # free once the first has finished
        assert lock.held and current_holder(db).run_id == "run-b"
    assert current_holder(db) is None


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    db = tmp_path / "w.duckdb"
    first = _python(HOLDER, str(db), "killed-run", stdin=subprocess.PIPE)
    _line(first, "held")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(WAIT_S)
    assert "killed-run" in lock_path(db).read_text()  # its note is still there ...
    assert current_holder(db) is None  # ... but names a dead process
    with holding(db, "next-run"):
        assert current_holder(db).run_id == "next-run"


def test_a_run_waits_for_a_brief_reader_but_a_reader_is_refused_by_a_run(tmp_path):
    db = tmp_path / "w.duckdb"
    reader = RunLock(db).acquire(None, "late-data sensor")
    threading.Timer(0.3, reader.release).start()
    started = time.monotonic()
    with holding(db, "run-after-reader"):
        assert time.monotonic() - started >= 0.25
        with pytest.raises(RunLockBusy, match="another fleetloop run"):
            RunLock(db).acquire(None, "late-data sensor")


def test_dagster_runs_hold_the_lock_and_a_second_run_is_refused(tmp_path):
    settings = Settings.for_home(tmp_path)
    go = tmp_path / "go"
    first = _python(DAGSTER_RUN, str(tmp_path), str(go))
    try:
        holder_id, first_run_id = _line(first, "holder").split()[1:]
        assert holder_id == first_run_id  # the run holds the lock while its asset runs

        ran = []

        @dg.asset
        def other(warehouse: WarehouseResource) -> None:
            ran.append(True)

        second = dg.materialize([other], resources={"warehouse": WarehouseResource.from_settings(settings)},
                                raise_on_error=False)
        assert not second.success and not ran
        errors = [_messages(e.event_specific_data.error) for e in second.all_events
                  if e.event_type_value == "RESOURCE_INIT_FAILURE"]
        assert len(errors) == 1
        assert f"another fleetloop run (pid {first.pid}, run {first_run_id[:8]}, since " in errors[0]
        assert f"is writing {settings.warehouse}; wait for it or stop it" in errors[0]
        go.touch()
        assert _line(first, "success") == "success True" and first.wait(WAIT_S) == 0
    finally:
        first.kill()
    third = dg.materialize([other], resources={"warehouse": WarehouseResource.from_settings(settings)})
    assert third.success and ran == [True] and current_holder(settings.warehouse) is None


def _messages(error) -> str:
    """An error's message and its causes'."""
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


PARENT = """
import subprocess, sys, time
tied = subprocess.Popen([sys.executable, "-c", "from fleetloop.runlock import exec_tied; "
                         "exec_tied(['/bin/sleep', '300'])"])
free = subprocess.Popen(["/bin/sleep", "300"])
print("children", tied.pid, free.pid, flush=True)
time.sleep(300)
"""


def _state(pid: int) -> str | None:
    """The process state letter (``Z`` for a zombie), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _until(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_sigkill_of_the_parent_ends_a_tied_child_but_not_an_untied_one():
    parent = _python(PARENT)
    tied, free = (int(p) for p in _line(parent, "children").split()[1:])
    try:
        _until(lambda: _cmdline(tied).startswith("/bin/sleep 300"), "the tied child never became sleep")
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(WAIT_S)
        _until(lambda: _state(tied) in (None, "Z"), f"tied child {tied} outlived its parent")
        assert _state(free) not in (None, "Z"), "the untied child should survive (the oracle of this test)"
    finally:
        for pid in (tied, free):
            if _state(pid) not in (None, "Z"):
                os.kill(pid, signal.SIGKILL)


def test_the_dbt_resource_runs_the_real_dbt_through_the_tied_wrapper():
    assert DBT_EXECUTABLE.name == "fleetloop-dbt" and os.access(DBT_EXECUTABLE, os.X_OK)
    out = subprocess.run([str(DBT_EXECUTABLE), "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "installed:" in out.stdout and "duckdb" in out.stdout
