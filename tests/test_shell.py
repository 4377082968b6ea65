"""The operators' shell as a person meets it: a tiny demo on a fresh home (stdout a pipe), the help of every
verb, ``status`` on a wrong day, a refused run, the run tags and the Dagster UI on the demo's instance."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from fleetloop.runlock import RunLock
from fleetloop.settings import Settings
from fleetloop_shell.cli import build_parser

DEMO_DAY = dt.date(2026, 11, 30)
DEMO_ARGS = ["demo", "--vehicles", "2", "--days", "1", "--hours-per-day", "1", "--start", DEMO_DAY.isoformat()]
MAX_DEMO_LINES = 60
DBT_NODE_LINE = re.compile(r"^\d+ of \d+ (START|OK|PASS)\b", re.MULTILINE)
ANSI_ESCAPE = "\x1b["
UI_START_TIMEOUT_S = 180  # dagster dev loads the code location (dbt manifest) first: 92 s at load 9 on 2 cores


def _fleetloop(settings: Settings, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = settings.subprocess_env() | {"OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "fleetloop_shell.cli", "--home", str(settings.home), *args],
                          env=env, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Settings, subprocess.CompletedProcess]:
    settings = Settings.for_home(tmp_path_factory.mktemp("shell") / "home")
    return settings, _fleetloop(settings, *DEMO_ARGS)


def _instance(settings: Settings):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(settings.dagster_home))


@pytest.mark.slow
def test_demo_prints_one_line_per_step_and_logs_the_detail(demo):
    settings, proc = demo
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) < MAX_DEMO_LINES, proc.stdout
    assert ANSI_ESCAPE not in proc.stdout and "\r" not in proc.stdout  # a pipe gets plain lines
    assert [ln for ln in lines if "] simulated 2 vehicles" in ln] == lines[:1]
    day_lines = [ln for ln in lines if f"] [1/1] {DEMO_DAY}" in ln]
    assert len(day_lines) == 1 and "ok, published" in day_lines[0], proc.stdout
    assert sum("report: " in ln for ln in lines) == 1
    assert not DBT_NODE_LINE.search(proc.stdout) and "Running with dbt" not in proc.stdout
    logs = list(settings.logs.glob("demo-*.log"))
    assert len(logs) == 1 and sum(str(logs[0]) in ln for ln in lines) == 1  # one file, its path printed once
    log = logs[0].read_text()
    assert len(DBT_NODE_LINE.findall(log)) > 100  # dbt's per-node lines went to the log
    assert "STEP_SUCCESS" in log  # and Dagster's event stream
    runs = _instance(settings).get_runs()
    assert len(runs) == 1 and runs[0].tags["fleetloop/trigger"] == "demo"
    assert runs[0].run_id[:8] in day_lines[0]


def _options(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("fleetloop",)):
    """(verb path, parser, action) for every action of every verb, nested verbs included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _options(child, (*path, name))
        elif not isinstance(action, argparse._HelpAction):
            yield path, parser, action


def test_every_option_has_help_a_shown_default_and_every_verb_examples():
    parser = build_parser()
    problems = []
    for path, verb, action in _options(parser):
        name = " ".join(path) + " " + ("/".join(action.option_strings) or action.dest)
        help_text = action.help or ""
        if not help_text.strip():
            problems.append(f"{name}: no help")
        flag = isinstance(action, argparse._StoreTrueAction | argparse._StoreConstAction | argparse._AppendConstAction)
        if action.option_strings and not (action.required or flag or "default" in help_text
                                          or "required" in help_text):  # one of a required group
            problems.append(f"{name}: no shown default")
        has_verbs = any(isinstance(a, argparse._SubParsersAction) for a in verb._actions)
        if len(path) > 1 and not has_verbs and "example" not in (verb.epilog or ""):
            problems.append(f"{' '.join(path)}: no examples")
    assert not sorted(set(problems)), "\n".join(sorted(set(problems)))
    # a default is shown as argparse holds it
    demo_help = parser._subparsers._group_actions[0].choices["demo"].format_help()
    assert "(default: 12)" in demo_help and "examples:" in demo_help


@pytest.mark.slow
def test_status_defaults_to_the_latest_day_and_lists_valid_days_and_sources(demo):
    settings, proc = demo
    assert proc.returncode == 0
    latest = _fleetloop(settings, "status")
    assert latest.returncode == 0 and latest.stdout.startswith(f"fleetloop status {DEMO_DAY}"), latest.stderr
    wrong_day = _fleetloop(settings, "status", "--day", "1999-01-01")
    assert wrong_day.returncode == 2 and "Traceback" not in wrong_day.stderr
    assert f"loaded days: {DEMO_DAY}" in wrong_day.stderr and len(wrong_day.stderr.splitlines()) == 1
    wrong_source = _fleetloop(settings, "status", "--source", "posse")
    assert wrong_source.returncode == 2 and "pose" in wrong_source.stderr and "heartbeat" in wrong_source.stderr


def test_status_on_an_empty_home_is_one_line_exit_2(tmp_path):
    proc = _fleetloop(Settings.for_home(tmp_path / "empty"), "status")
    assert proc.returncode == 2 and proc.stderr.startswith("fleetloop status: error: no warehouse at")
    assert len(proc.stderr.splitlines()) == 1


@pytest.mark.slow
def test_a_refused_run_prints_the_lock_message_exit_3_and_carries_its_tags(demo):
    settings, proc = demo
    assert proc.returncode == 0
    lock = RunLock(settings.warehouse).acquire("holder00-test")
    try:
        refused = _fleetloop(settings, "rerun", "--day", DEMO_DAY.isoformat(), "--accept-row-drop")
    finally:
        lock.release()
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert refused.stdout == "" and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        f"another fleetloop run (pid {os.getpid()}, run holder00, since {_clock(refused.stderr)}) is writing "
        f"{settings.warehouse}; wait for it or stop it"]
    latest = _instance(settings).get_runs(limit=1)[0]
    assert latest.tags["fleetloop/accept_row_drop"] == "true" and latest.tags["fleetloop/trigger"] == "rerun"
    assert latest.tags["dagster/partition"] == DEMO_DAY.isoformat()


def _clock(text: str) -> str:
    return re.search(r"since (\d\d:\d\d:\d\d UTC)", text).group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.mark.slow
def test_ui_serves_the_installation_instance_with_the_demo_run(demo):
    settings, proc = demo
    assert proc.returncode == 0
    demo_run = next(r for r in _instance(settings).get_runs() if r.tags.get("fleetloop/trigger") == "demo")
    port = _free_port()
    env = settings.subprocess_env() | {"OPENBLAS_NUM_THREADS": "1"}
    ui = subprocess.Popen([sys.executable, "-m", "fleetloop_shell.cli", "--home", str(settings.home), "ui", "--port",
                           str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          start_new_session=True)
    try:
        deadline, runs = time.monotonic() + UI_START_TIMEOUT_S, None
        while time.monotonic() < deadline and runs is None:
            try:
                runs = _graphql(port, "{ runsOrError { ... on Runs { results { runId tags { key value } } } } }")
            except OSError:
                time.sleep(1)
        assert runs is not None, "the UI did not answer"
        ids = {r["runId"] for r in runs["data"]["runsOrError"]["results"]}
        assert demo_run.run_id in ids
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.communicate(timeout=60)


CAPTURE_SCRIPT = """
import subprocess, sys
from fleetloop.settings import Settings
from fleetloop_shell.terminal import session
with session(Settings.for_home(sys.argv[1]), "probe") as shell:
    shell.line("step one")
    print("python noise")
    print("warning noise", file=sys.stderr)
    subprocess.run(["echo", "child noise"], check=True)
    start = shell.log.offset()
    print("failing step output")
    shell.show_failure("probe/step", start, shell.log.offset())
"""


def test_session_sends_everything_but_step_lines_to_one_log(tmp_path):
    settings = Settings.for_home(tmp_path / "home")
    proc = subprocess.run([sys.executable, "-c", CAPTURE_SCRIPT, str(settings.home)], capture_output=True, text=True,
                          env=settings.subprocess_env())
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    (log,) = settings.logs.glob("probe-*.log")
    out = proc.stdout.splitlines()
    assert out[0].endswith("] step one") and out[-1].endswith(f"] log (dbt's node lines, Dagster's events and "
                                                             f"warnings): {log}")
    assert "failing step output" in out[2:-2] and not any("noise" in line for line in out)
    assert log.read_text().splitlines() == ["python noise", "warning noise", "child noise", "failing step output"]


def test_failure_excerpts_leave_out_library_frames():
    import sysconfig

    from fleetloop_shell.terminal import _own_frames

    library = sysconfig.get_paths()["purelib"]
    lines = ["Traceback (most recent call last):",
             f'  File "{library}/dagster/_core/execute.py", line 9, in run',
             "    yield from step()",
             "    ^^^^^^^^^^^^^^^^^",
             '  File "/srv/checkout/fleetloop/ingest/loader.py", line 79, in load_partition',
             "    scan = scan_partition(landing)",
             "ValueError: landing missing"]
    assert _own_frames(lines) == [lines[0], *lines[4:]]
