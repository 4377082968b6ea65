"""The nightly scorer's choices against the simulator's fix labels (``fleetloop.sim.fixes``).

On the simulated test fleet the case queue is built with dbt and thinned to the first ``CASES_PER_FAMILY``
replayed cases of every labelled family (queue ranks kept; raw-upload and operations-only cases all stay),
then ``run_nightly`` scores each day's whole thinned queue. Every case is matched to its truth events (same
vehicle, overlapping window) and judged by what its family says a correct fix is, from the package's
trajectories, the sim world's driven lanes and the warehouse's own trigger detectors
(``fleetloop.triggers.pose``), never from the scorer's scores:

- smooth_path: weaving does not fire on the solution and it stays in the driven lane;
- drive_on: the solution ends past where the log stood (by more than the stuck max_displacement_m), still
  moving, in lane, touching no object;
- yield: the solution never overlaps the labelled road user, does not reach it sooner than the log while it
  is in the ego's way, brakes below the log's true tier and stays in lane;
- no_brake_needed: the case went to raw upload, or the solution fires no hard brake and stays in lane;
- none: no claim is correct.

Per family: support (cases seen), claimed ('improved'; raw upload too for no_brake_needed), correct,
precision = correct / claimed, recall = correct / support (families with a fix).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from fleetloop.definitions import trigger_params, vehicle_classes
from fleetloop.lanemap import load_lane_map
from fleetloop.scorer import package
from fleetloop.scorer.nightly import NightlyConfig, run_nightly, write_tables
from fleetloop.sim import fixes
from fleetloop.sim.world import build_world
from fleetloop.triggers import pose
from tests.fixtures.warehouse import _ods_path, copy_warehouse, run_dbt

pytestmark = pytest.mark.slow

CASES_PER_FAMILY = 12  # replayed cases scored per labelled family (both days): keeps the run within minutes
MIN_SUPPORT = 5  # families with fewer cases get no precision assert
# A package is training data. The triggers feeding the scorer are held to 0.95 precision on this fleet
# (test_truth_triggers); the scorer's claims may be a little noisier than their inputs (the checks below are
# geometric, with tolerances), but at most one claim in ten may be the wrong kind of fix.
PRECISION_MIN = 0.9
LANE_TOL_M = 0.1  # the log itself wanders this much (pose noise, the simulated weaving)
REACH_TOL_STEPS = 1  # one 0.1 s step of discretisation
STUCK_AHEAD_M = 30.0  # what stands this close ahead of a standing ego in its lane blocks it
IN_THE_WAY_M = 0.5  # a road user whose box comes within this of the ego's lane is in its way
ROUTE_LANES = 8  # lanes <route_id>-L0..7 are the driven chain (fleetloop.sim.world.Route)
TIER_RANK = {"mild": 1, "hard": 2, "severe": 3}
FIX_KINDS = (fixes.NO_BRAKE_NEEDED, fixes.SMOOTH_PATH, fixes.DRIVE_ON, fixes.YIELD)
UNLABELLED = "unlabelled"  # a case no truth event explains (a trigger false positive)


# ---- geometry ------------------------------------------------------------------------------------

def _overlaps(ego: np.ndarray, ego_size: tuple[float, float], obj: np.ndarray, obj_size: tuple[float, float]):
    """(T,) True where two boxes overlap (separating axes); ego and obj (T, >=3) x, y, heading (NaN: absent)."""
    d = obj[:, :2] - ego[:, :2]
    axes = np.stack([np.column_stack([np.cos(h), np.sin(h)]) for h in
                     (ego[:, 2], ego[:, 2] + np.pi / 2, obj[:, 2], obj[:, 2] + np.pi / 2)], axis=1)

    def radius(h, size):
        along, across = np.column_stack([np.cos(h), np.sin(h)]), np.column_stack([-np.sin(h), np.cos(h)])
        return (size[0] / 2 * np.abs((axes * along[:, None]).sum(-1))
                + size[1] / 2 * np.abs((axes * across[:, None]).sum(-1)))

    gap = np.abs((axes * d[:, None]).sum(-1)) - radius(ego[:, 2], ego_size) - radius(obj[:, 2], obj_size)
    return np.isfinite(obj[:, 0]) & (np.nan_to_num(gap, nan=1.0) < 0).all(axis=1)


def _along(path_xy: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arc length and distance of each point's projection on a polyline extended straight beyond both ends."""
    ext = 1000.0
    u0, u1 = path_xy[1] - path_xy[0], path_xy[-1] - path_xy[-2]
    line = np.vstack([path_xy[0] - ext * u0 / max(np.hypot(*u0), 1e-9), path_xy,
                      path_xy[-1] + ext * u1 / max(np.hypot(*u1), 1e-9)])
    a, ab = line[:-1], np.diff(line, axis=0)
    ab2 = np.maximum((ab * ab).sum(1), 1e-12)
    s0 = np.concatenate([[0.0], np.cumsum(np.sqrt(ab2))])[:-1] - ext
    t = np.clip(((pts[:, None] - a) * ab).sum(-1) / ab2, 0.0, 1.0)
    dist = np.hypot(*(a + t[..., None] * ab - pts[:, None]).transpose(2, 0, 1))
    k = dist.argmin(axis=1)
    rows = np.arange(len(pts))
    return s0[k] + t[rows, k] * np.sqrt(ab2[k]), dist[rows, k]


def _reach_step(traj: np.ndarray, ego_len_m: float, log: np.ndarray, obj: np.ndarray, obj_size: tuple[float, float],
                lane_half_m: float) -> float:
    """First step at which the ego's front reaches the object's rear along the log's path while the object
    is in the way (its box within IN_THE_WAY_M of the lane); inf: never."""
    seen = np.flatnonzero(np.isfinite(obj[:, 0]))
    ego_front = _along(log[:, 1:3], traj[:, 1:3])[0] + ego_len_m / 2
    obj_rear, in_way = np.full(len(traj), np.inf), np.zeros(len(traj), dtype=bool)
    station, dist = _along(log[:, 1:3], obj[seen, :2])
    obj_rear[seen] = station - obj_size[0] / 2
    in_way[seen] = dist - obj_size[1] / 2 <= lane_half_m + IN_THE_WAY_M
    hit = np.flatnonzero((ego_front >= obj_rear) & in_way)
    return float(hit[0]) if hit.size else np.inf


def _object_track(pair, object_id: str) -> tuple[np.ndarray, tuple[float, float]] | None:
    """(T+1, 4) x, y, heading, v of one package object on the scene's steps (NaN where absent) and its size."""
    steps = len(pair.original_trajectory)
    for obj in pair.dynamic_objects_bev:
        if obj["id"] == object_id:
            out = np.full((steps, 4), np.nan)
            track = np.asarray(obj["track"])
            out[obj["first_step"]:obj["first_step"] + len(track)] = track[:steps - obj["first_step"]]
            return out, (obj["length_m"], obj["width_m"])
    return None


def _driven_lanes(site_id: str, route_id: str):
    route = next(r for r in build_world().routes if r.route_id == route_id)
    lane_map = load_lane_map(site_id)
    return dataclasses.replace(lane_map, lanes=[lane_map.lane(route.lane_id(i)) for i in range(ROUTE_LANES)])


def _in_lane(traj: np.ndarray, lanes, ego_width_m: float) -> bool:
    """The ego's box stays inside the driven lane chain at every step (within LANE_TOL_M)."""
    offset, idx = lanes.lateral_offset(traj[:, 1], traj[:, 2])
    half = np.array([(lane.width_m - ego_width_m) / 2 for lane in lanes.lanes])
    return bool((offset <= half[idx] + LANE_TOL_M).all())


def _lane_half_m(traj: np.ndarray, lanes) -> float:
    """Half the width of the driven lane where the trajectory starts."""
    return lanes.lanes[int(lanes.lateral_offset(traj[:1, 1], traj[:1, 2])[1][0])].width_m / 2


# ---- the warehouse's detectors on a trajectory -----------------------------------------------------

def _signals(traj: np.ndarray):
    ts_us = np.rint(traj[:, 0] * 1e6).astype(np.int64)
    dt_s = np.diff(traj[:, 0])
    acc = np.append(np.diff(traj[:, 4]) / dt_s, 0.0)  # forward difference, as the simulator's acc_lon
    yaw = np.append(np.diff(np.unwrap(traj[:, 3])) / dt_s, 0.0)
    return ts_us, acc, yaw


def _brake_tier(traj: np.ndarray, vehicle_class: str) -> int:
    ts_us, acc, _ = _signals(traj)
    found = pose.hard_brake(ts_us, traj[:, 4], acc, trigger_params("hard_brake", vehicle_class))
    return max((TIER_RANK[d.tier] for d in found), default=0)


def _weaves(traj: np.ndarray, vehicle_class: str) -> bool:
    ts_us, _, yaw = _signals(traj)
    return bool(pose.weaving(ts_us, traj[:, 4], yaw, traj[:, 3], trigger_params("weaving", vehicle_class)))


# ---- the run -------------------------------------------------------------------------------------

def _match(cases: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Cases with their truth events (same vehicle, overlapping window), one row per pair."""
    pairs = cases.merge(truth, on="vehicle_id", suffixes=("", "_truth"))
    return pairs[(pairs["ts_start_truth"] <= pairs["ts_end"]) & (pairs["ts_end_truth"] >= pairs["ts_start"])]


def _family(families: list[str]) -> str:
    """The case's family: the first of its truth families in catalogue order (families with a fix first)."""
    order = list(fixes.FAMILIES)
    return min(families, key=order.index) if families else UNLABELLED


def _thin_queue(con, truth: pd.DataFrame) -> None:
    """Keep the first CASES_PER_FAMILY replayed cases of each family, every raw-upload case and every case
    whose truth is operations only (none should be queued)."""
    queue = con.execute("select case_id, vehicle_id, ts_start, ts_end, queue_rank, dt, action "
                        "from ads.ads_case_queue").df()
    pairs = _match(queue, truth)
    fams = pairs.groupby("case_id")["fix_family"].agg(list)
    queue["family"] = queue["case_id"].map(lambda c: _family(fams.get(c, [])))
    ops_only = queue["case_id"].map(lambda c: bool(fams.get(c)) and all(
        fixes.FAMILIES[f][2] == fixes.OPS_TICKET for f in fams[c]))
    replayed = queue[(queue["action"] != fixes.RAW_UPLOAD) & ~ops_only]
    keep = replayed.sort_values(["queue_rank", "dt"]).groupby("family").head(CASES_PER_FAMILY)["case_id"]
    keep = set(keep) | set(queue.loc[(queue["action"] == fixes.RAW_UPLOAD) | ops_only, "case_id"])
    con.execute("create temp table keep_cases as select unnest(?::varchar[]) as case_id", [sorted(keep)])
    con.execute("delete from ads.ads_case_queue where case_id not in (select case_id from keep_cases)")


@pytest.fixture(scope="module")
def truth(sim_fleet) -> pd.DataFrame:
    events = pd.read_parquet(sim_fleet.truth_dir / "events.parquet")
    return events.assign(**{c: events[c].astype("datetime64[us, UTC]") for c in ("ts_start", "ts_end")})


@pytest.fixture(scope="module")
def scored(ods_warehouse, sim_fleet, truth, tmp_path_factory):
    """(queue, solutions, raw upload requests) of the nightly run over the thinned queue."""
    path = copy_warehouse(_ods_path(ods_warehouse), tmp_path_factory.mktemp("scorer_truth"))
    run_dbt(["build", "--select", "+ads_case_queue", "--indirect-selection", "cautious"], path)
    packages = tmp_path_factory.mktemp("scorer_truth_packages")
    with duckdb.connect(str(path)) as con:
        _thin_queue(con, truth)
        for day in sim_fleet.days:
            n = con.execute("select count(*) from ads.ads_case_queue where dt = ?", [day]).fetchone()[0]
            write_tables(con, day, run_nightly(con, day, packages, NightlyConfig(top_k=n, seed=11)))
        frames = [con.execute(f"select * from {t}").df() for t in
                  ("ads.ads_case_queue", "scorer.solutions", "scorer.raw_upload_requests")]
    return tuple(f.assign(**{c: f[c].astype("datetime64[us, UTC]") for c in ("ts_start", "ts_end") if c in f})
                 for f in frames)


@dataclasses.dataclass
class Judged:
    cases: pd.DataFrame  # one row per case seen: family, expected_fix, status, claimed, correct, detail
    pairs: pd.DataFrame  # case x truth event
    drove_through: list[str]  # solutions that overlap a real labelled road user

    @property
    def summary(self) -> pd.DataFrame:
        g = self.cases.groupby("family")
        out = pd.DataFrame({"expected_fix": g["expected_fix"].first(), "support": g.size(),
                            "claimed": g["claimed"].sum(), "correct": g["correct"].sum()})
        out["precision"] = (out["correct"] / out["claimed"]).where(out["claimed"] > 0)
        out["recall"] = (out["correct"] / out["support"]).where(out["expected_fix"].isin(FIX_KINDS))
        return out.reindex([f for f in [*fixes.FAMILIES, UNLABELLED] if f in out.index])

    @property
    def table(self) -> str:
        """The per-family table and the share of improved cases against the share the labels make improvable."""
        c = self.cases
        replayed = c["status"].isin(["improved", "log_best", "error"])
        improved, fixable = c["status"] == "improved", c["expected_fix"].isin(FIX_KINDS)
        n = max(int(replayed.sum()), 1)
        return (self.summary.to_string(float_format=lambda v: f"{v:.2f}", na_rep="-")
                + f"\nimproved {improved.sum()} of {replayed.sum()} replayed ({improved.sum() / n:.0%}), "
                f"{(improved & c['correct']).sum()} the right kind of fix; the labels make "
                f"{(replayed & fixable).sum()} ({(replayed & fixable).sum() / n:.0%}) improvable")


def _judge(family: str, vehicle_class: str, pair, family_truth: pd.DataFrame, lanes) -> tuple[bool, str]:
    """Whether an 'improved' case's solution is the right kind of fix for its family, and why not."""
    log, sol = pair.original_trajectory, pair.optimized_trajectory
    ego_size = (pair.scene_metadata["ego_length_m"], pair.scene_metadata["ego_width_m"])
    fix = fixes.FAMILIES[family][1]
    problems = [] if _in_lane(sol, lanes, ego_size[1]) else ["leaves the lane"]
    if fix == fixes.SMOOTH_PATH and _weaves(sol, vehicle_class):
        problems.append("still weaves")
    elif fix == fixes.NO_BRAKE_NEEDED and _brake_tier(sol, vehicle_class):
        problems.append("still brakes hard")
    elif fix == fixes.DRIVE_ON:
        st = trigger_params("stuck", vehicle_class)
        ahead = (sol[-1, 1:3] - log[-1, 1:3]) @ np.array([np.cos(log[-1, 3]), np.sin(log[-1, 3])])
        if ahead <= st["max_displacement_m"] or sol[-1, 4] < st["max_speed_mps"]:
            problems.append(f"does not move on ({ahead:.1f} m past the log, {sol[-1, 4]:.1f} m/s at the end)")
        touched = [o["id"] for o in pair.dynamic_objects_bev
                   if _overlaps(sol[:, 1:4], ego_size, *_object_track(pair, o["id"])).any()]
        if touched:
            problems.append(f"touches {touched}")
    elif fix == fixes.YIELD:
        ev = family_truth.iloc[0]
        track = _object_track(pair, ev["obstacle_id"])
        if track is None:
            problems.append(f"obstacle {ev['obstacle_id']} not in the scene")
        else:
            obj, size = track
            if _overlaps(sol[:, 1:4], ego_size, obj[:, :3], size).any():
                problems.append("drives through the obstacle")
            half = _lane_half_m(log, lanes)
            reach_log = _reach_step(log, ego_size[0], log, obj, size, half)
            reach_sol = _reach_step(sol, ego_size[0], log, obj, size, half)
            if reach_sol < reach_log - REACH_TOL_STEPS:
                problems.append(f"reaches the obstacle at step {reach_sol:.0f}, the log at {reach_log:.0f}")
        if _brake_tier(sol, vehicle_class) >= TIER_RANK[ev["tier"]]:
            problems.append("brakes no gentler than the log")
    elif fix == fixes.NONE:
        problems.append("no trajectory fixes this family")
    return not problems, "; ".join(problems)


@pytest.fixture(scope="module")
def judged(scored, truth, sim_fleet) -> Judged:
    """Every case of the thinned queue with its family and the verdict on the scorer's choice; prints the table."""
    queue, sols, raws = scored
    pairs = _match(queue, truth)
    fams = pairs.groupby("case_id")["fix_family"].agg(list)
    routes = {v["vehicle_id"]: (v["site_id"], v["route_id"]) for v in sim_fleet.vehicles}
    status = dict(zip(sols["case_id"], sols["status"], strict=True))
    pkg = dict(zip(sols["case_id"], sols["package_path"], strict=True))
    raw = set(raws["case_id"])
    rows, drove_through = [], []
    for case in queue.itertuples():
        family = _family(fams.get(case.case_id, []))
        case_truth = pairs[pairs["case_id"] == case.case_id]
        fix = fixes.FAMILIES[family][1] if family != UNLABELLED else fixes.NONE
        improved = status.get(case.case_id) == "improved"
        claimed = improved or (fix == fixes.NO_BRAKE_NEEDED and case.case_id in raw)
        correct, detail = claimed, "raw upload" if case.case_id in raw else ""
        if improved:
            pair = package.decode(Path(pkg[case.case_id]).read_bytes())
            ego_size = (pair.scene_metadata["ego_length_m"], pair.scene_metadata["ego_width_m"])
            for oid in case_truth.loc[case_truth["expected_fix"] != fixes.NO_BRAKE_NEEDED, "obstacle_id"].dropna():
                track = _object_track(pair, oid)
                if track is not None and _overlaps(pair.optimized_trajectory[:, 1:4], ego_size, track[0][:, :3],
                                                   track[1]).any():
                    drove_through.append(f"{case.case_id} ({family}) drives through {oid}")
            if family == UNLABELLED:
                correct, detail = False, "no truth event"
            else:
                correct, detail = _judge(family, case.vehicle_class, pair,
                                         case_truth[case_truth["fix_family"] == family],
                                         _driven_lanes(*routes[case.vehicle_id]))
        rows.append({"case_id": case.case_id, "family": family, "expected_fix": fix,
                     "status": status.get(case.case_id, "raw_upload" if case.case_id in raw else "not scored"),
                     "claimed": claimed, "correct": correct, "detail": detail})
    out = Judged(pd.DataFrame(rows), pairs, drove_through)
    print("\nnightly scorer against the simulator's fix labels:\n" + out.table)
    return out


# ---- the tests -----------------------------------------------------------------------------------

def test_geometry_by_hand():
    car = (4.0, 2.0)
    ego = np.array([[0.0, 0.0, 0.0]] * 3)
    obj = np.array([[3.9, 1.9, 0.0], [4.1, 0.0, 0.0], [2.0, 3.1, np.pi / 2]])
    assert _overlaps(ego, car, obj, car).tolist() == [True, False, False]
    assert _overlaps(ego[:1], car, np.array([[np.nan] * 3]), car).tolist() == [False]
    path = np.column_stack([np.arange(0.0, 50.0), np.zeros(50)])
    station, dist = _along(path, np.array([[10.0, 3.0], [-5.0, -1.0], [60.0, 0.5]]))
    assert np.allclose(station, [10, -5, 60]) and np.allclose(dist, [3, 1, 0.5])
    traj = np.column_stack([np.arange(5) * 0.1, np.arange(5) * 2.0, np.zeros((5, 3))])  # t, x 0..8, y, h, v
    log = np.column_stack([np.zeros(5), np.arange(5) * 10.0, np.zeros((5, 3))])
    ahead = np.column_stack([np.full(5, 10.0), np.zeros(5), np.zeros(5)])
    beside = ahead + [0.0, 4.0, 0.0]  # 4 m to the left: out of a 3.5 m lane's way
    assert _reach_step(traj, 4.0, log, ahead, car, 1.75) == 3  # front 6 + 2 reaches rear 10 - 2 at step 3
    assert _reach_step(traj, 4.0, log, beside, car, 1.75) == np.inf



def test_labels_name_real_objects_of_their_events(ods_warehouse, sim_fleet, truth):
    """Every label's obstacle is a perception object of its vehicle around the event (low confidence only for
    phantoms); while the ego stands, a blocked stuck episode has its blocker ahead in the lane and a clear one
    has nothing there."""
    assert set(truth["fix_family"]) == set(fixes.FAMILIES)
    assert (truth["trigger"] == truth["fix_family"].map(lambda f: fixes.FAMILIES[f][0])).all()
    behind_object = truth["fix_family"].isin(["phantom_brake", "cut_in_brake", "pedestrian_brake", "stuck_blocked"])
    assert (truth["obstacle_id"].notna() == behind_object).all()
    routes = {v["vehicle_id"]: (v["site_id"], v["route_id"]) for v in sim_fleet.vehicles}
    with ods_warehouse.connect() as con:
        objects = con.execute("select object_id, any_value(vehicle_id) as vehicle_id, min(ts) as first_ts, "
                              "max(ts) as last_ts, min(confidence) as conf from ods.ods_perception_objects "
                              "group by object_id").df().set_index("object_id")
        for ev in truth[behind_object].itertuples():
            obj = objects.loc[ev.obstacle_id]
            assert obj.vehicle_id == ev.vehicle_id and obj.first_ts <= ev.ts_end and obj.last_ts >= ev.ts_start, ev
            assert (obj.conf < 0.5) == (ev.fix_family == "phantom_brake"), ev
        stuck = truth[truth["trigger"] == "stuck"]
        assert min((stuck["fix_family"] == f).sum() for f in ("stuck_blocked", "stuck_clear")) >= MIN_SUPPORT
        for ev in stuck.itertuples():
            rows = con.execute(
                "select o.object_id, o.x_m, o.y_m from ods.ods_pose p join ods.ods_perception_objects o "
                "on o.vehicle_id = p.vehicle_id and o.ts = p.ts where p.vehicle_id = ? and p.ts between ? and ? "
                "and (o.x_m - p.x_m) * cos(p.heading_rad) + (o.y_m - p.y_m) * sin(p.heading_rad) between 0 and ?",
                [ev.vehicle_id, ev.ts_start, ev.ts_end - pd.Timedelta(seconds=2), STUCK_AHEAD_M]).df()
            lanes = _driven_lanes(*routes[ev.vehicle_id])
            offset, idx = lanes.lateral_offset(rows["x_m"], rows["y_m"])
            in_lane = offset < np.array([lane.width_m / 2 for lane in lanes.lanes])[idx]
            ahead = sorted(set(rows.loc[in_lane, "object_id"]))
            assert ahead == ([ev.obstacle_id] if ev.fix_family == "stuck_blocked" else []), (ev.truth_id, ahead)


def test_logged_ego_never_touches_its_labelled_road_user(ods_warehouse, truth):
    """The truth is consistent: a real road user the log braked for or waited behind is never touched by the
    logged ego from 3 s before the event to 5 s after it."""
    real = truth[truth["obstacle_id"].notna() & (truth["expected_fix"] != fixes.NO_BRAKE_NEEDED)]
    sizes = {c: (float(r["length_m"]), float(r["width_m"])) for c, r in vehicle_classes().items()}
    touched = []
    with ods_warehouse.connect() as con:
        for ev in real.itertuples():
            rows = np.array(con.execute(
                "select p.x_m, p.y_m, p.heading_rad, o.x_m, o.y_m, o.heading_rad, o.length_m, o.width_m "
                "from ods.ods_pose p join ods.ods_perception_objects o on o.vehicle_id = p.vehicle_id "
                "and o.ts = p.ts and o.object_id = ? where p.vehicle_id = ? and p.ts between ? and ?",
                [ev.obstacle_id, ev.vehicle_id, ev.ts_start - pd.Timedelta(seconds=3),
                 ev.ts_end + pd.Timedelta(seconds=5)]).fetchall(), dtype=float)
            if _overlaps(rows[:, :3], sizes[ev.vehicle_class], rows[:, 3:6], (rows[0, 6], rows[0, 7])).any():
                touched.append(f"{ev.fix_family} {ev.vehicle_class} {ev.truth_id}")
    by_family = pd.Series([t.split()[0] for t in touched], dtype=object).value_counts().to_dict()
    assert not touched, (f"{len(touched)} of {len(real)} logs touch the road user they are labelled to yield to "
                         f"or wait behind ({by_family}):\n" + "\n".join(touched[:20]))


def test_no_solution_drives_through_a_real_road_user(judged):
    assert not judged.drove_through, "\n".join(judged.drove_through) + "\n" + judged.table


def test_no_operations_case_is_replayed(judged):
    ops = {f for f, (_, _, route) in fixes.FAMILIES.items() if route == fixes.OPS_TICKET}
    fams = judged.pairs.groupby("case_id")["fix_family"].agg(set)
    replayed = judged.cases.loc[judged.cases["status"].isin(["improved", "log_best", "error"]), "case_id"]
    ops_only = [c for c in replayed if c in fams and fams[c] <= ops]
    assert not ops_only, f"{len(ops_only)} operations-only cases replayed: {ops_only[:10]}\n{judged.table}"


def test_no_improvement_where_no_trajectory_fixes(judged):
    wrong = judged.cases[(judged.cases["expected_fix"] == fixes.NONE) & judged.cases["claimed"]]
    assert wrong.empty, (f"{len(wrong)} improvements claimed on families labelled none:\n"
                         f"{wrong[['case_id', 'family']].to_string()}\n{judged.table}")


def test_every_replayed_family_is_covered(judged):
    summary = judged.summary
    replayed = [f for f, (_, _, route) in fixes.FAMILIES.items() if route == fixes.REPLAY]
    thin = [f for f in replayed if f not in summary.index or summary.loc[f, "support"] < MIN_SUPPORT]
    assert not thin, f"families with fewer than {MIN_SUPPORT} cases: {thin}\n{judged.table}"


def test_claimed_fixes_are_the_right_kind(judged):
    summary = judged.summary
    low = summary[(summary["support"] >= MIN_SUPPORT) & summary["expected_fix"].isin(FIX_KINDS)
                  & (summary["precision"] < PRECISION_MIN)]
    wrong = judged.cases[judged.cases["claimed"] & ~judged.cases["correct"] & judged.cases["family"].isin(low.index)]
    assert low.empty, (f"precision below {PRECISION_MIN} in {list(low.index)}:\n{judged.table}\n"
                       f"{wrong[['case_id', 'family', 'detail']].to_string()}")
