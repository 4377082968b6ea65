"""Scenes from the warehouse: a case of ``ads.ads_case_queue`` or a mined case beside it
(``fleetloop.mining.queue``), the ego from ``ods.ods_pose``, the agents from ``ods.ods_perception_objects`` and
the site's lanes from ``fleetloop.lanemap``.

The horizon (8 s) starts ``LEAD_S`` before the case's first trigger (window start + the case pre_s from
``seeds/trigger_definitions.csv``), or at the clip start for a mined case, and is shortened when the pose line
ends earlier. Pose and objects are resampled onto the 10 Hz grid; a grid sample more than ``MAX_GAP_S`` from any
observation is missing (for the ego that is an error, for an object it is absent there).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from fleetloop.definitions import trigger_params
from fleetloop.mining.queue import case_queue_sql, is_mined
from fleetloop.scorer.scene import DT_S, HORIZON_S, EgoSpec, Scene, SceneLane

LEAD_S = 3.0
MAX_GAP_S = 0.15
MIN_STEPS = 30
CROP_MARGIN_M = 60.0
RAW_TABLES = ("ods_pose", "ods_perception_objects", "ods_planner_debug")


def _epoch(ts) -> float:
    return ts.timestamp()


def _resample(t_obs: np.ndarray, values: np.ndarray, grid: np.ndarray, angle: bool = False) -> np.ndarray:
    """Linear interpolation onto the grid; NaN where the nearest observation is more than MAX_GAP_S away
    or outside the observed span."""
    if angle:
        values = np.unwrap(values)
    out = np.interp(grid, t_obs, values)
    pos = np.clip(np.searchsorted(t_obs, grid), 1, len(t_obs) - 1) if len(t_obs) > 1 else np.zeros(len(grid), int)
    if len(t_obs) > 1:
        near = np.minimum(np.abs(grid - t_obs[pos - 1]), np.abs(grid - t_obs[pos]))
    else:
        near = np.abs(grid - t_obs[0])
    bad = (near > MAX_GAP_S) | (grid < t_obs[0] - 1e-6) | (grid > t_obs[-1] + 1e-6)
    return np.where(bad, np.nan, out)


def case_row(con, case_id: str) -> dict:
    """The queued case ``case_id``: triggered or mined (``fleetloop.mining.queue``)."""
    cur = con.execute(f"select * from {case_queue_sql(con)} where case_id = ?", [case_id])
    row = cur.fetchone()
    if row is None:
        raise ValueError(f"no case {case_id!r} in ads.ads_case_queue")
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def raw_window_bytes(con, vehicle_id: str, ts_start, ts_end) -> int:
    """Size of the case window's raw rows as JSON lines (pose, perception objects, planner debug)."""
    have = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'ods'").fetchall()}
    total = 0
    for table in RAW_TABLES:
        if table not in have:
            continue
        total += con.execute(
            f"select coalesce(sum(strlen(to_json(t)::varchar) + 1), 0) from "
            f"(select * exclude (dt, _source_file, _line_number, _loaded_at) from ods.{table} "
            f"where vehicle_id = ? and ts between ? and ?) t",
            [vehicle_id, ts_start, ts_end],
        ).fetchone()[0]
    return int(total)


def _crop(lanes, centre: np.ndarray, radius: float) -> tuple[SceneLane, ...]:
    out = []
    for lane in lanes:
        near = np.nonzero(np.hypot(*(lane.centerline - centre).T) <= radius)[0]
        if len(near) < 2:
            continue
        sl = slice(max(near[0] - 1, 0), near[-1] + 2)  # one point past each end: the lane reaches the radius
        out.append(SceneLane(str(lane.lane_id), lane.centerline[sl], lane.left_bound[sl], lane.right_bound[sl],
                             float(lane.speed_limit_mps), tuple(lane.successors)))
    return tuple(out)


def load_case(con, case_id: str, lane_map=None, horizon_s: float = HORIZON_S) -> Scene:
    """Build the scene of one queued case. ``lane_map``: a ``fleetloop.lanemap.LaneMap`` (default: the
    case site's map from the seeds)."""
    case = case_row(con, case_id)
    if lane_map is None:
        from fleetloop.lanemap import load_lane_map

        lane_map = load_lane_map(case["site_id"])
    mined = is_mined(case)
    start = _epoch(case["ts_start"])
    t0 = start if mined else max(start, start + trigger_params("case")["pre_s"] - LEAD_S)
    ts0 = dt.datetime.fromtimestamp(t0 - 0.5, dt.UTC)
    ts1 = dt.datetime.fromtimestamp(t0 + horizon_s + 0.5, dt.UTC)
    pose = con.execute(
        "select distinct on (ts) epoch_ms(ts) / 1000.0, x_m, y_m, heading_rad, speed_mps, acc_lon_mps2, yaw_rate_rps "
        "from ods.ods_pose where vehicle_id = ? and ts between ? and ? order by ts",
        [case["vehicle_id"], ts0, ts1],
    ).fetchall()
    if len(pose) < 2:
        raise ValueError(f"case {case_id}: no pose line for {case['vehicle_id']} in the case window")
    p = np.array(pose, dtype=float)
    steps = int(min(round(horizon_s / DT_S), np.floor((p[-1, 0] - t0) / DT_S + 1e-6)))
    if steps < MIN_STEPS:
        raise ValueError(f"case {case_id}: only {max(steps, 0) * DT_S:.1f} s of pose after the horizon start")
    grid = t0 + np.arange(steps + 1) * DT_S
    cols = [_resample(p[:, 0], p[:, j], grid, angle=(j == 3)) for j in range(1, 7)]
    if not all(np.all(np.isfinite(c)) for c in cols):
        raise ValueError(f"case {case_id}: the pose line has gaps > {MAX_GAP_S} s in the horizon")
    x, y, h, v, acc, yaw = cols
    objs = con.execute(
        "select object_id, class, epoch_ms(ts) / 1000.0, x_m, y_m, heading_rad, vx_mps, vy_mps, length_m, width_m "
        "from ods.ods_perception_objects where vehicle_id = ? and ts between ? and ? order by object_id, ts",
        [case["vehicle_id"], ts0, ts1],
    ).fetchall()
    ids, classes, lengths, widths, tracks = [], [], [], [], []
    by_obj: dict[str, list] = {}
    for r in objs:
        by_obj.setdefault(str(r[0]), []).append(r)
    for oid, rows in by_obj.items():
        arr = np.array([r[2:] for r in rows], dtype=float)
        _, first = np.unique(arr[:, 0], return_index=True)
        arr = arr[first]
        track = np.column_stack([
            _resample(arr[:, 0], arr[:, 1], grid), _resample(arr[:, 0], arr[:, 2], grid),
            _resample(arr[:, 0], arr[:, 3], grid, angle=True),
            _resample(arr[:, 0], np.hypot(arr[:, 4], arr[:, 5]), grid),
        ])
        if not np.isfinite(track).all(axis=1).any():
            continue
        classes.append(max(set(r[1] for r in rows), key=[r[1] for r in rows].count))
        ids.append(oid)
        lengths.append(float(np.median(arr[:, 6])))
        widths.append(float(np.median(arr[:, 7])))
        tracks.append(track)
    ego = EgoSpec.for_class(case["vehicle_class"])
    radius = max(ego.max_speed_mps, float(v.max())) * horizon_s + CROP_MARGIN_M
    lanes = _crop(lane_map.lanes, np.array([x[0], y[0]]), radius)
    return Scene(
        scene_id=case_id,
        source="warehouse",
        ego=ego,
        ego_log=np.column_stack([grid - t0, x, y, h, v]),
        agent_ids=np.array(ids, dtype=object),
        agent_classes=np.array(classes, dtype=object),
        agent_length_m=np.array(lengths),
        agent_width_m=np.array(widths),
        agent_states=np.stack(tracks) if tracks else np.zeros((0, steps + 1, 4)),
        lanes=lanes,
        metadata={
            "case_id": case_id, "vehicle_id": case["vehicle_id"], "site_id": case["site_id"],
            "dt": str(case["dt"]), "ts_start": case["ts_start"].isoformat(), "ts_end": case["ts_end"].isoformat(),
            "horizon_start": dt.datetime.fromtimestamp(t0, dt.UTC).isoformat(),
            # a mined case has no trigger of its own: it is judged as a scene (select.NO_CASE)
            "triggers": None if mined else list(case.get("triggers") or []),
            **({"mined_query": case["query"]} if mined else {}),
            "raw_bytes": raw_window_bytes(con, case["vehicle_id"], case["ts_start"], case["ts_end"]),
        },
        ego_signals={"acc_lon_mps2": acc, "yaw_rate_rps": yaw},
    )
