"""Nightly scorer on a real DuckDB warehouse: scenes rebuilt from ODS pose and perception rows on a real
site lane map, routing by the trigger catalog, tables replaced per day, packages on disk, determinism, the
Dagster asset; and the improvement rule on hand-made scenes (a solution must resolve the case's own trigger:
driving faster is never an improvement)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import numpy as np
import pytest

from fleetloop.definitions import trigger_catalog, trigger_params, triggers
from fleetloop.ingest.schema import ddl
from fleetloop.lanemap import load_lane_map
from fleetloop.scorer import package, select
from fleetloop.scorer.nightly import NightlyConfig, run_nightly, write_tables
from fleetloop.scorer.scene import EgoSpec, Scene, constant_track, log_from_speeds, straight_lanes
from fleetloop.scorer.scoring import COMPONENTS
from fleetloop.scorer.solve import SearchConfig, solve
from fleetloop.scorer.warehouse_scene import load_case

SITE, LANE = "su_logistics", "su_logistics-r1-L0"
DAY = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DT = 0.1


def _speeds(v0: float, decel: float, brake_at_m: float, n: int) -> np.ndarray:
    out, dist = [v0], 0.0
    for _ in range(n - 1):
        v = out[-1]
        nv = max(0.0, v + (decel if dist >= brake_at_m else 0.0) * DT)
        dist += (v + nv) / 2 * DT
        out.append(nv)
    return np.array(out)


def _along(lane, s: np.ndarray):
    c = lane.centerline
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))])
    h = np.arctan2(*np.diff(c, axis=0).T[::-1])
    return np.interp(s, arc, c[:, 0]), np.interp(s, arc, c[:, 1]), np.interp(s, arc[:-1], np.unwrap(h))


def _insert_case(con, vehicle: str, start: dt.datetime, speeds: np.ndarray, s0: float, obstacle_s: float | None,
                 action: str, rank: int, case_triggers: tuple[str, ...] = ("hard_brake",)) -> str:
    lane = load_lane_map(SITE).lane(LANE)
    dist = s0 + np.concatenate([[0.0], np.cumsum((speeds[1:] + speeds[:-1]) / 2 * DT)])
    x, y, h = _along(lane, dist)
    acc = np.append(np.diff(speeds) / DT, 0.0)
    ts = [start + dt.timedelta(seconds=i * DT) for i in range(len(speeds))]
    con.executemany(
        "insert into ods.ods_pose (ts, vehicle_id, x_m, y_m, speed_mps, acc_lon_mps2, acc_lat_mps2, heading_rad, "
        "yaw_rate_rps, drive_mode, dt) values (?, ?, ?, ?, ?, ?, 0, ?, 0, 'auto', ?)",
        [[ts[i], vehicle, x[i], y[i], speeds[i], acc[i], h[i], DAY] for i in range(len(ts))])
    if obstacle_s is not None:
        ox, oy, oh = _along(lane, np.array([obstacle_s]))
        con.executemany(
            'insert into ods.ods_perception_objects (ts, vehicle_id, object_id, "class", x_m, y_m, heading_rad, '
            "vx_mps, vy_mps, length_m, width_m, confidence, dt) "
            "values (?, ?, 'obj1', 'car', ?, ?, ?, 0, 0, 4.5, 1.9, 0.95, ?)",
            [[t, vehicle, ox[0], oy[0], oh[0], DAY] for t in ts])
    case_id = f"case_{vehicle}"
    catalog = trigger_catalog()
    replay = [t for t in case_triggers if catalog[t]["action"] == "counterfactual"]
    ops = [t for t in case_triggers if catalog[t]["action"] == "ops_ticket"]
    con.execute(
        "insert into ads.ads_case_queue values (?, ?, ?, ?, 'urban_delivery', ?, ?, ?, ?, ?, 1, 2, 0.3, 1.0, "
        "?, ?, ?, 'test case')",
        [case_id, DAY, vehicle, SITE, start, start + dt.timedelta(seconds=len(speeds) * DT), list(case_triggers),
         replay, ops, rank, action == "raw_upload", action])
    return case_id


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("scorer_wh") / "wh.duckdb"
    con = duckdb.connect(str(path))
    for stmt in ddl():
        con.execute(stmt)
    con.execute("create schema ads")
    con.execute(
        "create table ads.ads_case_queue (case_id varchar, dt date, vehicle_id varchar, site_id varchar, "
        "vehicle_class varchar, ts_start timestamptz, ts_end timestamptz, triggers varchar[], "
        "replay_triggers varchar[], ops_triggers varchar[], n_events bigint, "
        "severity integer, uncertainty double, priority double, queue_rank bigint, perception_suspect boolean, "
        "action varchar, reason varchar)")
    n = 160  # 16 s window; the horizon starts 7 s in (pre_s 10 s - 3 s lead)
    # v1: cruises at 10 m/s and brakes late and hard (-6.5) for a car stopped in its lane
    hard = np.concatenate([np.full(70, 10.0), _speeds(10.0, -6.5, 31.8, n - 70)])
    _insert_case(con, "v1", T0, hard, 200.0, 200.0 + 70 * DT * 10.0 + 45.0, "counterfactual", 1)
    # v2: free road at the 16.7 m/s limit: nothing to improve
    _insert_case(con, "v2", T0, np.full(n, 16.7), 400.0, None, "counterfactual", 2)
    # v3: perception suspect: raw upload instead of a solution
    _insert_case(con, "v3", T0, np.full(n, 8.0), 800.0, None, "raw_upload", 3)
    # v4: an operations case (offline) that reached the queue table all the same: never replayed
    _insert_case(con, "v4", T0, np.full(n, 8.0), 1000.0, None, "ops_ticket", 4, ("offline",))
    # v5: a takeover over ordinary driving at 8 m/s on a 16.7 m/s road: driving faster fixes nothing
    _insert_case(con, "v5", T0, np.full(n, 8.0), 600.0, None, "counterfactual", 5, ("takeover",))
    con.close()
    return path


def test_scene_from_the_warehouse(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        scene = load_case(con, "case_v1")
        with pytest.raises(ValueError, match="no case 'case_nope'"):
            load_case(con, "case_nope")
    assert scene.steps == 80 and scene.ego.vehicle_class == "urban_delivery"
    assert scene.ego_log[0, 4] == pytest.approx(10.0) and list(scene.agent_ids) == ["obj1"]
    assert np.isfinite(scene.agent_states).all()
    assert scene.metadata["raw_bytes"] > 10_000 and any(ln.lane_id == LANE for ln in scene.lanes)


def test_nightly_tables_packages_and_determinism(warehouse, tmp_path):
    cfg = NightlyConfig(top_k=10, seed=5, budget_bytes=1_000_000_000)
    with duckdb.connect(str(warehouse)) as con:
        first = run_nightly(con, DAY, tmp_path / "p1", cfg)
        write_tables(con, DAY, first)
        write_tables(con, DAY, run_nightly(con, DAY, tmp_path / "p2", cfg))  # re-run replaces the day
        sols = con.execute("select case_id, status, sol_pdms > log_pdms, package_bytes, compression_ratio, "
                           "robust_collision_free_share, resolved_trigger, resolved_by, log_tier, sol_tier, reason "
                           "from scorer.solutions order by case_id").fetchall()
        raws = con.execute("select case_id, est_bytes from scorer.raw_upload_requests").fetchall()
        plan = con.execute("select case_id, kind, selected from scorer.upload_plan order by upload_rank").fetchall()
    assert [s[:3] for s in sols] == [("case_v1", "improved", True), ("case_v2", "log_best", None),
                                     ("case_v5", "log_best", None)]
    assert sols[0][3] > 0 and sols[0][4] > 1.0 and 0.0 <= sols[0][5] <= 1.0
    assert sols[0][6:8] == ("hard_brake", "hard_brake_tier") and sols[0][8] == 3 and sols[0][9] < 3
    assert "resolves hard_brake" in sols[0][10]
    assert sols[1][3] is None and sols[1][6] is None  # no package, no claim
    assert sols[2][6] is None and "takeover: the log passes NC, TTC and DAC" in sols[2][10]
    assert raws == [("case_v3", 16 * 10_000_000)]
    assert {(c, k) for c, k, _ in plan} == {("case_v1", "solution"), ("case_v3", "raw")}
    blob1 = (tmp_path / "p1" / f"dt={DAY}" / "case_v1.sspair").read_bytes()
    blob2 = (tmp_path / "p2" / f"dt={DAY}" / "case_v1.sspair").read_bytes()
    assert blob1 == blob2  # deterministic for a given seed
    pair = package.decode(blob1)
    assert pair.decision_metadata["improved"] and pair.scene_metadata["case_id"] == "case_v1"
    fixed = pair.decision_metadata["fixed"]
    assert fixed["trigger"] == "hard_brake" and fixed["log_tier"] == 3 and fixed["solution_tier"] < 3
    assert "c" in fixed["components_better"] and set(fixed["components_worse"]) <= {"ep"}  # progress may drop
    assert fixed["component_deltas"]["c"]["delta"] == pytest.approx(1.0)
    # the same night on two worker processes: the same rows (wall times and package folders aside), the same bytes
    again = run_nightly(duckdb.connect(str(warehouse), read_only=True), DAY, tmp_path / "p3",
                        dataclasses.replace(cfg, processes=2))
    assert _stripped(again) == _stripped(first) and first["not_reached"] == []
    assert (tmp_path / "p3" / f"dt={DAY}" / "case_v1.sspair").read_bytes() == blob1


def _stripped(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {name: [{k: v for k, v in r.items() if k not in ("solve_seconds", "package_path")} for r in rows]
            for name, rows in tables.items()}


def test_a_short_budget_scores_the_head_and_reports_the_rest(warehouse, tmp_path):
    # queue: v1 (rank 1), v2 (2), v3 raw upload (3), v5 (5); the cap keeps 3, the budget ends within v1's replay
    # (>= 1,000 candidates take longer than 0.25 s)
    cfg = NightlyConfig(top_k=3, seed=5, robustness_variants=0, budget_s=0.25, processes=1)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = run_nightly(con, DAY, tmp_path / "p", cfg)
        queue = [r[0] for r in con.execute("select case_id from ads.ads_case_queue where dt = ? and action in "
                                           "('counterfactual', 'raw_upload') order by queue_rank", [DAY]).fetchall()]
    assert [r["case_id"] for r in tables["solutions"]] == ["case_v1"]
    assert tables["solutions"][0]["status"] == "improved" and tables["solutions"][0]["n_candidates"] >= 1000
    assert [(r["case_id"], r["cause"], r["queue_rank"]) for r in tables["not_reached"]] == [
        ("case_v2", "time_budget", 2), ("case_v5", "case_limit", 5)]
    assert "0.25 s" in tables["not_reached"][0]["reason"] and "top_k" in tables["not_reached"][1]["reason"]
    assert [r["case_id"] for r in tables["raw_upload_requests"]] == ["case_v3"]  # a raw request costs no replay
    accounted = [r["case_id"] for name in ("solutions", "not_reached", "raw_upload_requests") for r in tables[name]]
    assert sorted(accounted) == sorted(queue) and len(set(accounted)) == len(accounted)  # nothing lost, once each
    out = tmp_path / "w.duckdb"
    with duckdb.connect(str(out)) as con:
        write_tables(con, DAY, tables)
        assert con.execute("select case_id, cause from scorer.not_reached order by queue_rank").fetchall() == [
            ("case_v2", "time_budget"), ("case_v5", "case_limit")]


def test_replay_cli_on_a_warehouse_case(warehouse, capsys):
    from fleetloop_shell.cli import main

    assert main(["replay", "--case", "case_v1", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "PDMS" in out and "comfort (C)" in out and "package (ScenarioSolutionPair)" in out
    assert "no improvement claimed" not in out
    assert main(["replay", "--case", "case_v2", "--warehouse", str(warehouse)]) == 0
    assert "no candidate beats the log: no improvement claimed" in capsys.readouterr().out
    assert main(["replay", "--case", "case_missing", "--warehouse", str(warehouse)]) == 2


def test_dagster_asset_materialises(warehouse, tmp_path):
    import dagster as dg

    from dagster_pipelines.partitions import daily_partitions
    from dagster_pipelines.resources import WarehouseResource
    from dagster_pipelines.scorer.assets import build_scorer_asset
    from fleetloop.settings import Settings

    settings = Settings.for_home(warehouse.parent, warehouse=warehouse, start_date=DAY)
    res = dg.materialize(
        [build_scorer_asset(daily_partitions(settings))], partition_key=DAY.isoformat(),
        resources={"warehouse": WarehouseResource.from_settings(settings)},
        run_config={"ops": {"scorer__counterfactual_solutions": {"config": {
            "top_k": 5, "seed": 1, "packages_dir": str(tmp_path / "pk")}}}},
    )
    assert res.success
    md = res.asset_materializations_for_node("scorer__counterfactual_solutions")[0].metadata
    assert md["improved"].value == 1 and md["raw_upload_requests"].value == 1
    # the settings' night window and cores, nothing left unscored
    assert md["budget_s"].value == settings.scorer_budget_s and md["processes"].value == settings.scorer_cores
    assert md["not_reached"].value == 0 and md["cases_scored"].value == 3
    assert md["resolved_triggers"].value == {"hard_brake": 1}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from scorer.solutions where dt = ?", [DAY]).fetchone()[0] == 3


def test_the_installations_case_cap_leaves_the_queues_tail_not_reached(warehouse, tmp_path):
    import dagster as dg

    from dagster_pipelines.partitions import daily_partitions
    from dagster_pipelines.resources import WarehouseResource
    from dagster_pipelines.scorer.assets import build_scorer_asset
    from fleetloop.settings import Settings

    settings = Settings.for_home(warehouse.parent, warehouse=warehouse, start_date=DAY, scorer_max_cases=2)
    res = dg.materialize(
        [build_scorer_asset(daily_partitions(settings))], partition_key=DAY.isoformat(),
        resources={"warehouse": WarehouseResource.from_settings(settings)},
        run_config={"ops": {"scorer__counterfactual_solutions": {"config": {
            "seed": 1, "packages_dir": str(tmp_path / "pk")}}}},
    )
    assert res.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        queue = con.execute("select case_id from ads.ads_case_queue where dt = ? and action in "
                            "('counterfactual', 'raw_upload') order by queue_rank, case_id", [DAY]).fetchall()
        missed = con.execute("select case_id, cause from scorer.not_reached where dt = ? order by queue_rank, "
                             "case_id", [DAY]).fetchall()
    assert len(queue) > 2 and missed == [(c, "case_limit") for (c,) in queue[2:]]


def test_ops_cases_are_never_replayed(warehouse, tmp_path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = run_nightly(con, DAY, tmp_path / "p", NightlyConfig(top_k=10, seed=5, robustness_variants=0))
    seen = {r["case_id"] for name in ("solutions", "raw_upload_requests") for r in tables[name]}
    assert "case_v4" not in seen and {"case_v1", "case_v2", "case_v3", "case_v5"} <= seen


# ---------------------------------------------------------------- the trigger catalog and the improvement rule


def test_trigger_catalog_covers_every_trigger():
    catalog = trigger_catalog()
    assert set(triggers()) <= set(catalog)
    for trig, row in catalog.items():
        assert row["action"] in ("counterfactual", "raw_upload", "ops_ticket"), trig
        assert (row["family"] == "operations") == (row["action"] == "ops_ticket"), trig
        if row["action"] == "counterfactual":
            assert row["resolved_by"] in select.CHECKS, trig
        else:
            assert row["resolved_by"] == "none", trig
    for trig in ("offline", "error_burst", "site_anomaly"):
        assert catalog[trig]["action"] == "ops_ticket"
    assert catalog["perception_suspect"]["action"] == "raw_upload"
    assert select.case_checks(["offline", "error_burst"]) == ()
    assert select.case_checks(["takeover", "hard_brake", "offline"]) == (("hard_brake", "hard_brake_tier"),
                                                                         ("takeover", "safety_fix"))
    assert select.case_checks(None) == select.NO_CASE
    with pytest.raises(KeyError):
        select.case_checks(["no_such_trigger"])


def _scores(**kw) -> dict[str, np.ndarray]:
    base = dict.fromkeys(COMPONENTS, 1.0) | {"ep": 0.7, "hard_brake_tier": 0.0, "weaving": 0.0, "stuck": 0.0,
                                              "pdms": 0.9, "pruned": 0.0, "lateral_dev_m": 0.0,
                                              "centre_offset_m": 0.0}
    return {k: np.array([float(v)]) for k, v in (base | kw).items()}


def test_improvement_rule_ignores_progress():
    log = {k: float(v[0]) for k, v in _scores().items()}
    faster = _scores(ep=1.0, pdms=1.0)
    for checks in (select.NO_CASE, select.case_checks(["takeover"]), select.case_checks(["hard_brake"]),
                   select.case_checks(["uncertainty", "call_driver"])):
        assert not select.improves(faster, log, checks)[0]
    # a hard brake only counts when its tier drops, and only when nothing else gets worse
    braking = {**log, "hard_brake_tier": 2.0, "c": 0.0}
    hb = select.case_checks(["hard_brake"])
    assert select.improves(_scores(hard_brake_tier=1, ep=0.5), braking, hb)[0]
    assert not select.improves(_scores(hard_brake_tier=2, ep=1.0), braking, hb)[0]
    assert not select.improves(_scores(hard_brake_tier=0, ttc=0.0), braking, hb)[0]
    assert not select.improves(_scores(hard_brake_tier=0, slc=0.9), braking, hb)[0]
    # a takeover is resolved only by fixing a safety component the log fails
    unsafe = {**log, "ttc": 0.0}
    assert select.improves(_scores(ep=0.2), unsafe, select.case_checks(["takeover"]))[0]
    assert not select.improves(_scores(ttc=0.0, ep=1.0), unsafe, select.case_checks(["takeover"]))[0]
    # a solution that still collides is never one
    crash = {**log, "nc": 0.0, "hard_brake_tier": 3.0}
    assert not select.improves(_scores(nc=0.0, hard_brake_tier=0), crash, hb)[0]


EGO = EgoSpec.for_class("urban_delivery")
STEPS = 80


def _scene(speeds: np.ndarray, agents=(), case_triggers=None, limit: float = 16.7) -> Scene:
    log = log_from_speeds(0.0, 0.0, 0.0, speeds)
    return Scene(
        scene_id="hand", source="synthetic", ego=EGO, ego_log=log,
        agent_ids=np.array([a[0] for a in agents]), agent_classes=np.array([a[1] for a in agents]),
        agent_length_m=np.full(len(agents), 4.5), agent_width_m=np.full(len(agents), 1.9),
        agent_states=np.stack([a[2] for a in agents]) if agents else np.zeros((0, len(log), 4)),
        lanes=straight_lanes(1, speed_limit_mps=limit),
        metadata={} if case_triggers is None else {"triggers": list(case_triggers)},
    )


@pytest.mark.parametrize("case_triggers", [None, ["takeover"], ["call_driver"], ["hard_brake"], ["weaving"],
                                           ["uncertainty", "output_jitter"]])
def test_driving_faster_is_not_an_improvement(case_triggers):
    # ordinary driving at 8 m/s on an empty 16.7 m/s road: many safe candidates go further, none fixes anything
    r = solve(_scene(np.full(STEPS + 1, 8.0), case_triggers=case_triggers), SearchConfig(seed=3))
    ok = select.no_worse(r.scores, r.log_scores)
    assert (r.scores["progress_m"][ok] > r.log_scores["progress_m"] + 20).any()  # faster ones exist and are safe
    assert not r.improved and r.counts()["improving"] == 0
    assert r.verdict().startswith("log is best")
    assert package.build(r).decision_metadata["fixed"] is None


def test_earlier_gentler_brake_resolves_the_hard_brake():
    # 10 m/s, brakes late at -6.5 m/s2 and stops ~0.7 m short of a car stopped at x = 45
    speeds = [10.0]
    dist = 0.0
    for _ in range(STEPS):
        v = speeds[-1]
        nv = max(0.0, v + (-6.5 if dist >= 31.8 else 0.0) * 0.1)
        dist += (v + nv) / 2 * 0.1
        speeds.append(nv)
    scene = _scene(np.array(speeds), [("car1", "car", constant_track(45.0, 0.0, 0.0, 0.0, STEPS))], ["hard_brake"])
    r = solve(scene, SearchConfig(seed=7))
    assert r.improved and r.log_scores["hard_brake_tier"] == 3
    (res,) = r.resolution()
    assert res == {"trigger": "hard_brake", "check": "hard_brake_tier", "log_tier": 3,
                   "solution_tier": res["solution_tier"], "resolved": True} and res["solution_tier"] < 3
    sol = r.solution
    first_slow = np.nonzero(sol.v[0] < 9.5)[0][0]
    assert first_slow < np.nonzero(scene.ego_log[:, 4] < 9.5)[0][0]  # it brakes earlier ...
    assert np.diff(sol.v[0]).min() > np.diff(scene.ego_log[:, 4]).min()  # ... and gentler
    assert r.solution_scores["nc"] == 1.0 and r.solution_scores["c"] >= r.log_scores["c"]
    decision = package.build(r).decision_metadata
    assert decision["fixed"]["trigger"] == "hard_brake" and "hard_brake" in decision["verdict"]
    assert decision["key_decision_points"][0]["driver"] == "hard_brake"


def test_stuck_resolved_by_moving_on_only_where_nothing_blocks():
    params = trigger_params("stuck", EGO.vehicle_class)
    stop = np.maximum(8.0 - 2.0 * np.arange(STEPS + 1) * 0.1, 0.0)  # stops after 4 s and stands
    free = solve(_scene(stop, case_triggers=["stuck"]), SearchConfig(seed=2))
    assert free.improved and free.fixed()["trigger"] == "stuck"
    assert free.solution.v[0, -1] >= params["max_speed_mps"]
    assert free.solution_scores["progress_m"] > free.log_scores["progress_m"] + params["max_displacement_m"]
    # the same stop behind a car stopped in the only lane: the log is best
    blocker = ("car1", "car", constant_track(16.0 + EGO.length_m / 2 + 1.5 + 2.25, 0.0, 0.0, 0.0, STEPS))
    blocked = solve(_scene(stop, [blocker], ["stuck"]), SearchConfig(seed=2))
    assert not blocked.improved, blocked.verdict()
