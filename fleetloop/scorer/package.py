"""ScenarioSolutionPair (DOMAIN.md section 4): the compact {scene, solution} package and its codec.

Numeric series are fixed point (1 cm, 1 cm/s, 1 mrad, 1 ms) and delta-encoded (first value, then
int32 differences), the whole JSON document zlib-compressed behind a magic line. Decoding restores every
value within half a quantum: 0.5 cm, 0.5 cm/s, 0.5 mrad.

``decision_metadata`` says what was fixed: ``fixed`` (the case trigger the solution resolves, the check that
decided it, the log's and the solution's tier, every component that changed with its delta, the components
better and worse), ``verdict`` (one line, or why the log is best), the case's checks and their per-check
``resolution``, log and solution scores, ``cost_deltas``, the ``key_decision_points`` (where the solution
departs from the log and why), the solution's parameters, the search counts and the robustness re-check.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from fleetloop.scorer.scoring import AXES, COMPONENTS

MAGIC = b"FLSSP1\n"
# quantum per trajectory column t, x, y, heading, v and per agent-track column x, y, heading, v
TRAJ_QUANTA = (0.001, 0.01, 0.01, 0.001, 0.01)
TRACK_QUANTA = (0.01, 0.01, 0.001, 0.01)
POLYLINE_QUANTUM = 0.01


@dataclass
class ScenarioSolutionPair:
    scene_metadata: dict
    initial_state: dict
    dynamic_objects_bev: list[dict]  # id, class, length_m, width_m, first_step, track (K, 4)
    static_environment_map: list[dict]  # lane_id, speed_limit_mps, successors, centerline/left/right (N, 2)
    original_trajectory: np.ndarray  # (T+1, 5) t, x, y, heading, v
    optimized_trajectory: np.ndarray | None
    decision_metadata: dict


def _enc(values: np.ndarray, quantum: float) -> dict:
    q = np.rint(np.asarray(values, float) / quantum).astype(np.int64)
    if len(q) == 0:
        return {"q": quantum, "n": 0, "first": 0, "d": ""}
    delta = np.diff(q)
    if len(delta) and np.abs(delta).max() >= 2**31:
        raise ValueError("delta too large for the fixed-point codec")
    return {"q": quantum, "n": len(q), "first": int(q[0]),
            "d": base64.b64encode(delta.astype("<i4").tobytes()).decode("ascii")}


def _dec(obj: dict) -> np.ndarray:
    if obj["n"] == 0:
        return np.zeros(0)
    delta = np.frombuffer(base64.b64decode(obj["d"]), dtype="<i4").astype(np.int64)
    return np.concatenate([[obj["first"]], obj["first"] + np.cumsum(delta)]) * obj["q"]


def _enc_cols(arr: np.ndarray, quanta: tuple[float, ...], angle_cols: tuple[int, ...]) -> list[dict]:
    arr = np.asarray(arr, float)
    cols = []
    for j, q in enumerate(quanta):
        col = np.unwrap(arr[:, j]) if j in angle_cols else arr[:, j]
        cols.append(_enc(col, q))
    return cols


def _dec_cols(cols: list[dict]) -> np.ndarray:
    return np.column_stack([_dec(c) for c in cols])


def _track_rows(track: np.ndarray) -> tuple[int, np.ndarray]:
    ok = np.nonzero(np.all(np.isfinite(track), axis=1))[0]
    if not len(ok):
        return 0, np.zeros((0, 4))
    return int(ok[0]), track[ok[0]: ok[-1] + 1]


def encode(pair: ScenarioSolutionPair) -> bytes:
    doc = asdict(pair)
    doc["original_trajectory"] = _enc_cols(pair.original_trajectory, TRAJ_QUANTA, (3,))
    doc["optimized_trajectory"] = (None if pair.optimized_trajectory is None
                                   else _enc_cols(pair.optimized_trajectory, TRAJ_QUANTA, (3,)))
    doc["dynamic_objects_bev"] = [
        {k: v for k, v in obj.items() if k != "track"} | {"track": _enc_cols(obj["track"], TRACK_QUANTA, (2,))}
        for obj in pair.dynamic_objects_bev
    ]
    doc["static_environment_map"] = [
        {k: v for k, v in lane.items() if k not in ("centerline", "left_bound", "right_bound")}
        | {k: _enc_cols(lane[k], (POLYLINE_QUANTUM,) * 2, ()) for k in ("centerline", "left_bound", "right_bound")}
        for lane in pair.static_environment_map
    ]
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True, default=_json_default).encode("utf-8")
    return MAGIC + zlib.compress(raw, 9)


def decode(blob: bytes) -> ScenarioSolutionPair:
    if not blob.startswith(MAGIC):
        raise ValueError("not a ScenarioSolutionPair package (bad magic)")
    doc = json.loads(zlib.decompress(blob[len(MAGIC):]))
    doc["original_trajectory"] = _dec_cols(doc["original_trajectory"])
    if doc["optimized_trajectory"] is not None:
        doc["optimized_trajectory"] = _dec_cols(doc["optimized_trajectory"])
    for obj in doc["dynamic_objects_bev"]:
        obj["track"] = _dec_cols(obj["track"]) if obj["track"][0]["n"] else np.zeros((0, 4))
    for lane in doc["static_environment_map"]:
        for k in ("centerline", "left_bound", "right_bound"):
            lane[k] = _dec_cols(lane[k])
    return ScenarioSolutionPair(**doc)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def build(result) -> ScenarioSolutionPair:
    """The package of a solved case (``fleetloop.scorer.solve.CaseResult``)."""
    scene = result.scene
    meta = {k: v for k, v in scene.metadata.items() if k != "raw_bytes"}
    meta |= {"scene_id": scene.scene_id, "source": scene.source, "dt_s": scene.dt_s, "steps": scene.steps,
             "vehicle_class": scene.ego.vehicle_class, "ego_length_m": scene.ego.length_m,
             "ego_width_m": scene.ego.width_m}
    objects = []
    for i, aid in enumerate(scene.agent_ids):
        first, track = _track_rows(scene.agent_states[i])
        objects.append({"id": str(aid), "class": str(scene.agent_classes[i]),
                        "length_m": float(scene.agent_length_m[i]), "width_m": float(scene.agent_width_m[i]),
                        "first_step": first, "track": track})
    lanes = [{"lane_id": ln.lane_id, "speed_limit_mps": ln.speed_limit_mps, "successors": list(ln.successors),
              "centerline": ln.centerline, "left_bound": ln.left_bound, "right_bound": ln.right_bound}
             for ln in scene.lanes]
    optimized = None
    if result.chosen is not None:
        sol = result.solution
        optimized = np.column_stack([scene.ego_log[:, 0], sol.x[0], sol.y[0], sol.h[0], sol.v[0]])
    keys = COMPONENTS + ("pdms",) + AXES + ("progress_m", "hard_brake_tier", "weaving", "stuck")
    decision = {
        "improved": result.improved,
        # what was fixed: the case trigger the solution resolves, by which check, from which tier to which,
        # and every component that changed with its delta (None when the log is best)
        "fixed": result.fixed(),
        "verdict": result.verdict(),
        "case_checks": [{"trigger": t, "check": c} for t, c in result.checks],
        "resolution": result.resolution(),
        "log_scores": {k: result.log_scores[k] for k in keys},
        "solution_scores": None if result.chosen is None else {k: result.solution_scores[k] for k in keys},
        "cost_deltas": result.deltas(),
        "key_decision_points": result.decision_points(),
        "solution_parameters": None if result.chosen is None else dict(
            zip(("d_target_m", "v_target_mps", "a_max_mps2", "b_comf_mps2", "t_lat_s"),
                map(float, result.theta[result.chosen]), strict=True)),
        "search": result.counts(),
        "robustness": (None if result.robustness is None
                       else {k: v for k, v in result.robustness.items() if k != "detail"}),
    }
    return ScenarioSolutionPair(meta, scene.initial_state, objects, lanes, scene.ego_log.copy(), optimized, decision)
