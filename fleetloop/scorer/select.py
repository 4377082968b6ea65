"""Selection against the log: the improvement test, the Pareto front, the chosen solution, its cost deltas
and key decision points.

A candidate improves on the log when it is no worse on every axis (safety, efficiency, comfort,
compliance; efficiency within ``TOLERANCE``), materially better on one (``MARGIN``), and fires no
warehouse trigger the log did not (hard_brake tier not above the log's, no weaving unless the log wove).
"""

from __future__ import annotations

import numpy as np

from fleetloop.scorer.scoring import AXES, COMPONENTS
from fleetloop.scorer.triggers import TIERS
from fleetloop.scorer.world import TrajBatch

TOLERANCE = {"safety": 0.0, "efficiency": 0.05, "comfort": 0.0, "compliance": 0.0}
MARGIN = {"safety": 1e-6, "efficiency": 0.05, "comfort": 1e-6, "compliance": 0.02}
DEPART_POS_M = 0.5
DEPART_SPEED_MPS = 0.5


def improves(scores: dict[str, np.ndarray], log: dict[str, float]) -> np.ndarray:
    """Mask of candidates that beat the log (see module docstring)."""
    n = len(scores["pdms"])
    no_worse = np.ones(n, dtype=bool)
    better = np.zeros(n, dtype=bool)
    for ax in AXES:
        val = np.nan_to_num(scores[ax], nan=-np.inf)
        no_worse &= val >= log[ax] - TOLERANCE[ax] - 1e-12
        better |= val > log[ax] + MARGIN[ax]
    triggers_ok = (np.nan_to_num(scores["hard_brake_tier"], nan=9) <= log["hard_brake_tier"]) & (
        np.nan_to_num(scores["weaving"], nan=9) <= log["weaving"])
    return no_worse & better & triggers_ok & ~scores["pruned"].astype(bool)


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Indices of the rows of (M, K) values (higher is better) that no other row dominates."""
    m = len(values)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    ge = (values[:, None, :] >= values[None, :, :]).all(axis=-1)
    gt = (values[:, None, :] > values[None, :, :]).any(axis=-1)
    dominated = (ge & gt).any(axis=0)
    return np.nonzero(~dominated)[0]


def choose(scores: dict[str, np.ndarray], log: dict[str, float], cands: TrajBatch, log_traj: TrajBatch):
    """(chosen index or None, the Pareto front of the improving candidates in order of preference)."""
    ok = np.nonzero(improves(scores, log))[0]
    if not len(ok):
        return None, ok
    values = np.column_stack([scores[ax][ok] for ax in AXES])
    front = ok[pareto_front(values)]
    deviation = np.hypot(cands.x[front] - log_traj.x[0], cands.y[front] - log_traj.y[0]).mean(axis=1)
    total = sum(scores[ax][front] for ax in AXES)
    fired = scores["hard_brake_tier"][front] + scores["weaving"][front]
    # best PDMS (to 0.01), then fewest trigger tiers fired, best axes total, closest to the log
    order = np.lexsort((deviation, -total, fired, -np.round(scores["pdms"][front], 2)))
    return int(front[order[0]]), front[order]


def deltas(sol: dict[str, float], log: dict[str, float]) -> dict[str, float]:
    keys = COMPONENTS + ("pdms",) + AXES + ("progress_m",)
    return {k: float(sol[k] - log[k]) for k in keys}


def decision_points(sol: TrajBatch, log: TrajBatch, sol_scores: dict[str, float], log_scores: dict[str, float],
                    dt: float) -> list[dict]:
    """When and where the solution departs from the log, and which component drove the change."""
    pos = np.hypot(sol.x[0] - log.x[0], sol.y[0] - log.y[0])
    lat = sol.d[0] - log.d[0]
    dv = sol.v[0] - log.v[0]
    gains = {k: sol_scores[k] - log_scores[k] for k in COMPONENTS}
    driver = max(gains, key=lambda k: (gains[k], k != "ep"))
    why = f"{driver}: log {log_scores[driver]:.3g} -> solution {sol_scores[driver]:.3g}"
    trig = []
    if sol_scores["hard_brake_tier"] < log_scores["hard_brake_tier"]:
        trig.append(f"hard_brake {TIERS[int(log_scores['hard_brake_tier'])]} avoided")
    if sol_scores["weaving"] < log_scores["weaving"]:
        trig.append("weaving avoided")
    if trig:
        why += "; " + ", ".join(trig)
    points = []

    def point(kind: str, t: int, detail: str) -> dict:
        return {"kind": kind, "t_s": round(t * dt, 2), "x_m": float(sol.x[0, t]), "y_m": float(sol.y[0, t]),
                "log_speed_mps": float(log.v[0, t]), "solution_speed_mps": float(sol.v[0, t]),
                "lateral_offset_m": float(lat[t]), "driver": driver, "detail": detail}

    dep = np.nonzero((pos > DEPART_POS_M) | (np.abs(dv) > DEPART_SPEED_MPS))[0]
    if len(dep):
        t = int(dep[0])
        kind = "speed" if abs(dv[t]) > DEPART_SPEED_MPS else "lateral"
        points.append(point("departure", t, f"{kind} departs from the log; {why}"))
        t_v = int(np.argmax(np.abs(dv)))
        points.append(point("max_speed_difference", t_v, f"speed {dv[t_v]:+.2f} m/s vs log"))
        t_d = int(np.argmax(np.abs(lat)))
        if abs(lat[t_d]) > DEPART_POS_M:
            points.append(point("max_lateral_offset", t_d, f"lateral {lat[t_d]:+.2f} m vs log"))
    return points
