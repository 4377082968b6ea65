"""Two simulated days through the one Dagster job in process (ODS, gates, dbt with its tests, scorer,
publication), then late data: the sensor asks for exactly the late day and what depends on it, a broken late
file fails a gate, publication is blocked while analysts keep reading the previous file, and a rerun recovers.
Finally the analysts' example queries (analyses/) return rows on the published file."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_pipelines.warehouse.project import PROJECT_DIR
from fleetloop.publish import connect_published, publication_info
from fleetloop.settings import Settings
from fleetloop.warehouse import write_dbt_profile

CAMPUS_SPEED_MPS = 20.0  # a campus robot (class max ~4 m/s) reporting delivery-van speeds: plausible for the
                         # loader (< MAX_SPEED_MPS, smooth), implausible for the GE suite (speed_to_class_max)


def _hardlink_tree(src: Path, dst: Path) -> None:
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)


SCORED_PER_DAY = 20  # the whole queue of the test fleet takes minutes a day; the cap is the installation's


@pytest.fixture(scope="module")
def ops_home(sim_fleet, tmp_path_factory) -> Settings:
    """A private installation over (hard links to) the session's simulated landing, with its own Dagster instance."""
    from fleetloop_shell.runner import prepare_home

    root = tmp_path_factory.mktemp("ops_home")
    _hardlink_tree(Path(sim_fleet.landing), root / "landing")
    return prepare_home(Settings.for_home(root, scorer_max_cases=SCORED_PER_DAY))


@pytest.fixture(scope="module")
def instance(ops_home):
    from fleetloop_shell.runner import dagster_instance

    return dagster_instance(ops_home)


def run_days(settings, days, **kwargs):
    from fleetloop_shell.runner import run_days as run

    return run(settings, days, progress=lambda _: None, **kwargs)


@pytest.fixture(scope="module")
def two_days(ops_home, sim_fleet):
    return run_days(ops_home, sim_fleet.days)


def test_two_days_materialise_with_every_gate_and_publish(two_days, ops_home, sim_fleet, instance):
    from dagster_pipelines.checks.results import run_gate_outcomes

    assert [r.day for r in two_days] == list(sim_fleet.days)
    assert all(r.success and r.published for r in two_days), [r.explain() for r in two_days]
    gates = run_gate_outcomes(instance, two_days[-1].run_id)
    names = {(g.asset, g.check) for g in gates}
    assert ("ods/ods_pose", "reconciliation") in names and ("ods/ods_heartbeat", "expectations") in names
    assert ("ads/ads_case_queue", "expectations") in names
    assert any(a.startswith("ads/") and c != "expectations" for a, c in names), "dbt tests ran as checks"
    assert all(g.passed for g in gates), [g.describe() for g in gates if not g.passed]

    info = publication_info(ops_home.published)
    assert info["days"] == [d.isoformat() for d in sim_fleet.days] and info["run_id"] == two_days[-1].run_id
    truth = pd.read_parquet(Path(sim_fleet.landing) / "_truth" / "distance.parquet")
    truth_km = {str(k)[:10]: v / 1000.0 for k, v in truth.groupby("dt")["distance_m"].sum().items()}
    con = connect_published(ops_home.published)
    try:
        km = dict(con.execute("select dt, km_total from ads.ads_fleet_overview_1d order by dt").fetchall())
        scored = con.execute("select count(*) from scorer.solutions").fetchone()[0]
    finally:
        con.close()
    assert sorted(km) == list(sim_fleet.days)
    for day, value in km.items():
        assert value == pytest.approx(truth_km[day.isoformat()], rel=0.01)
    assert scored > 0


def _campus_robot(landing: Path) -> dict:
    fleet = json.loads((landing / "_truth" / "fleet.json").read_text())
    return next(v for v in fleet["vehicles"] if v["vehicle_class"] == "campus_robot")


def _write_broken_heartbeats(landing: Path, day: dt.date) -> Path:
    veh = _campus_robot(landing)
    start = dt.datetime.combine(day, dt.time(23, 0), dt.UTC)
    rows = [{"ts": (start + dt.timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ"), "vehicle_id": veh["vehicle_id"],
             "drive_mode": "auto", "speed_mps": CAMPUS_SPEED_MPS, "road_type": "closed_campus", "task_id": "task_late",
             "task_status": "driving", "city": veh["city"], "site_id": veh["site_id"], "route_id": veh["route_id"],
             "lat": 39.8, "lon": 116.5} for s in range(120)]
    path = landing / "heartbeat" / f"dt={day.isoformat()}" / "late-broken.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _tick(sensor, instance, defs, cursor=None):
    """One evaluation of the sensor with the code location's warehouse resource (opened as a context)."""
    with dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor,
                                 resources={"warehouse": defs.resources["warehouse"]}) as context:
        return sensor.evaluate_tick(context)


def test_late_broken_file_fails_its_gate_and_blocks_publication(two_days, ops_home, sim_fleet, instance):
    from dagster_pipelines.definitions import build_definitions
    from fleetloop_shell.status import day_status

    defs = build_definitions(ops_home)
    sensor = defs.resolve_sensor_def("late_data_sensor")
    first = _tick(sensor, instance, defs)
    assert first.run_requests == [], "a fresh load is not late data"

    day = sim_fleet.days[-1]
    broken = _write_broken_heartbeats(ops_home.landing, day)
    tick = _tick(sensor, instance, defs, first.cursor)
    assert [r.partition_key for r in tick.run_requests] == [day.isoformat()]
    selection = set(tick.run_requests[0].asset_selection)
    assert dg.AssetKey(["ods", "ods_heartbeat"]) in selection and dg.AssetKey("published_warehouse") in selection
    assert dg.AssetKey(["ods", "ods_pose"]) not in selection, "only the late source and what depends on it"
    again = _tick(sensor, instance, defs, tick.cursor)
    # until the day is reloaded the landing still differs from what its load read: the same content asks under the
    # same run key, which Dagster launches once
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in tick.run_requests]

    before = publication_info(ops_home.published)
    reader = connect_published(ops_home.published)  # an analyst querying during the run
    rows_before = reader.execute("select count(*) from ads.ads_fleet_overview_1d").fetchone()[0]
    (run,) = run_days(ops_home, [day], selection=sorted(selection, key=str))
    assert not run.success and not run.published
    failed = {(g.asset, g.check): g for g in run.failed_gates}
    assert ("ods/ods_heartbeat", "expectations") in failed, run.explain()
    detail = failed[("ods/ods_heartbeat", "expectations")].describe()
    assert "speed_to_class_max" in detail and _campus_robot(ops_home.landing)["vehicle_id"] in detail
    assert reader.execute("select count(*) from ads.ads_fleet_overview_1d").fetchone()[0] == rows_before
    reader.close()
    assert publication_info(ops_home.published) == before, "the previous publication stays in place"
    status = day_status(ops_home, day, source="heartbeat")
    assert "FAIL ods/ods_heartbeat :: expectations" in status and "speed_to_class_max" in status

    broken.unlink()  # the operator removes the bad file and reloads the day; nothing downstream changed (the
    # failed gate stopped the run before dbt), so reloading the source and publishing is the whole recovery
    recovery = [dg.AssetKey(["ods", "ods_heartbeat"]), dg.AssetKey("published_warehouse")]
    (fixed,) = run_days(ops_home, [day], selection=recovery)
    assert fixed.success and fixed.published, fixed.explain()
    assert publication_info(ops_home.published)["run_id"] == fixed.run_id


def _compiled_analyses(ops_home) -> dict[str, str]:
    target = ops_home.home / "dbt_analyses"
    scratch = Settings.for_home(ops_home.home / "analyses")  # same catalog name as the published file
    scratch.warehouse.parent.mkdir(parents=True, exist_ok=True)
    profiles = write_dbt_profile(scratch)
    dbt = str(Path(sys.executable).parent / "dbt")
    proc = subprocess.run([dbt, "compile", "--quiet", "--select", "resource_type:analysis", "--project-dir",
                           str(PROJECT_DIR), "--profiles-dir", str(profiles), "--target-path", str(target)],
                          cwd=PROJECT_DIR, env=scratch.subprocess_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.stem: p.read_text() for p in target.rglob("analyses/*.sql")}


def test_analysts_example_queries_return_rows_on_the_published_file(two_days, ops_home):
    queries = _compiled_analyses(ops_home)
    assert {p.stem for p in (PROJECT_DIR / "analyses").glob("*.sql")} == set(queries)
    con = duckdb.connect(str(ops_home.published), read_only=True)
    try:
        for name, sql in queries.items():
            rows = con.execute(sql).fetchall()
            assert rows, f"analyses/{name}.sql returned no rows on the published file"
    finally:
        con.close()


def test_overview_and_report_from_the_published_file(two_days, ops_home, sim_fleet):
    import re

    from fleetloop.report.html import write_report
    from fleetloop.report.overview import overview_text

    text = overview_text(ops_home.published)
    for day in sim_fleet.days:
        assert day.isoformat() in text
    assert "MPS per 10k km [95% CI]" in text and "== Case queue" in text

    html = write_report(ops_home.published, ops_home.reports / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the report must not load external assets"
    assert "<script" not in html and "<link" not in html
    assert html.count("<svg") >= 8
    for heading in ("Trends with exact Poisson 95% intervals", "Autonomy rate", "Software versions", "Top cases",
                    "Data quality"):
        assert f"<h2>{heading}" in html, heading
    con = connect_published(ops_home.published)
    try:
        improved = con.execute("select count(*) from scorer.solutions where status = 'improved'").fetchone()[0]
    finally:
        con.close()
    if improved:
        assert "the scorer found" in html and "counterfactual" in html


def test_a_day_reloaded_without_its_gates_blocks_publication_until_rerun(two_days, ops_home, sim_fleet):
    first, second = sim_fleet.days
    registry = dg.AssetKey(["ods", "ods_vehicle_registry"])
    published = dg.AssetKey("published_warehouse")
    before = publication_info(ops_home.published)
    # a run killed after loading the first day: its ODS changed, its gates and publication never ran
    (killed,) = run_days(ops_home, [first], selection=[registry])
    assert killed.success and not killed.published
    (other,) = run_days(ops_home, [second], selection=[published])
    assert not other.published and other.failed_steps == ["published_warehouse"]
    assert any(first.isoformat() in d and "never passed their gates" in d for d in other.failure_details)
    assert publication_info(ops_home.published) == before
    (rerun,) = run_days(ops_home, [first], selection=[registry, published])
    assert rerun.success and rerun.published
    assert publication_info(ops_home.published)["run_id"] == rerun.run_id
