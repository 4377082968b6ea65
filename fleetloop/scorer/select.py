"""Selection against the log: the improvement test, the Pareto front, the chosen solution, what it resolves,
its cost deltas and key decision points.

A candidate improves on the log only when it resolves the case's own problem and is no worse than the log
on everything else that matters:

- **resolves**: for one of the case's counterfactual triggers (``seeds/trigger_catalog.csv``, action
  'counterfactual'), the check its catalog row names in ``resolved_by`` finds a problem on the log (tier
  > 0) and a lower tier on the candidate, and the candidate stays within the row's
  ``max_lateral_deviation_m`` of the log's path (largest gap between the two Frenet d at the same step;
  empty: unlimited): a hard brake or weaving is fixed by the same manoeuvre done better in the log's own
  lane, never by changing lanes. The checks (``CHECKS``), each a tier per trajectory:
  ``hard_brake_tier`` the warehouse's hard_brake tier (0 none .. 3 severe); ``weaving`` whether weaving
  fires (0 / 1); ``stuck`` 1 while the trajectory is still stuck by the stuck trigger's own definition over
  the horizon's last ``check_window_s`` (it does not move more than max_displacement_m there at a speed
  above max_speed_mps throughout: a creep at the threshold is no driving on) or, when the log is stuck, has
  not moved on past where the log ended by more than max_displacement_m (a solution can only move on where
  nothing blocks it: NC and TTC must hold); ``safety_fix`` how many of NC, TTC and DAC fail (< 1), DAC
  counted as passed only while the candidate keeps at least as close to the lane centre as the log (mean
  |d| over the horizon) when the log fails it: triggers with no trajectory-level check (takeover,
  call_driver, ...) are resolved only when the log fails a safety component and the candidate passes it,
  and a log that fails DAC near its lane centre fails it for the map, which leaving the lane never mends.
  A scene with no case trigger (a CommonRoad scenario, a hand-built scene) is judged by ``component_fix``:
  how many of the safety, comfort and compliance components fail.
- **no worse**: every component except EP (NC, DAC, TTC, C, DDC, LK, SLC) at least the log's, no
  warehouse trigger fired harder than on the log (hard_brake tier, weaving), and no at-fault collision at
  all (NC = 1): a solution that still collides is no training target, whatever it resolves.

Progress (EP) has no part in the test: a candidate that only drives faster resolves nothing, and ordinary
driving in a case window stays the best answer ("log_best"). A case whose triggers all ask for something
else than a counterfactual (raw upload, an operations ticket) has no check: nothing improves on it.
"""

from __future__ import annotations

import numpy as np

from fleetloop.definitions import trigger_catalog, trigger_params
from fleetloop.scorer import scoring
from fleetloop.scorer.scoring import AXES, COMPONENTS
from fleetloop.scorer.triggers import TIERS, hard_brake_tier
from fleetloop.scorer.world import TrajBatch, World

SAFETY = ("nc", "ttc", "dac")
GUARDED = tuple(k for k in COMPONENTS if k != "ep")  # no worse than the log on each of these
FIRED = ("hard_brake_tier", "weaving")  # warehouse triggers a candidate may not fire harder than the log
NO_TRIGGER_CHECK = "component_fix"
NO_CASE = ((None, NO_TRIGGER_CHECK),)
EPS = 1e-9
DEPART_POS_M = 0.5
DEPART_SPEED_MPS = 0.5


def _fails(scores: dict[str, np.ndarray], key: str) -> np.ndarray:
    return ~(np.nan_to_num(np.asarray(scores[key], float), nan=0.0) >= 1.0 - EPS)


def _failed(scores: dict[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    return sum(_fails(scores, k).astype(int) for k in keys)


def _safety_failed(scores: dict[str, np.ndarray], log: dict[str, np.ndarray]) -> np.ndarray:
    """NC, TTC and DAC failures; where the log fails DAC, DAC passes only as close to the lane centre as the log."""
    off = np.nan_to_num(np.asarray(scores["centre_offset_m"], float), nan=np.inf)
    dac = _fails(scores, "dac") | (_fails(log, "dac") & (off > np.asarray(log["centre_offset_m"], float) + EPS))
    return _failed(scores, ("nc", "ttc")) + dac.astype(int)


def _tier(key: str):
    return lambda s, log: np.nan_to_num(np.asarray(s[key], float), nan=9).astype(int)


CHECKS = {  # check -> tier per trajectory from (scores, the log's scores as 1-arrays)
    "hard_brake_tier": _tier("hard_brake_tier"),
    "weaving": _tier("weaving"),
    "stuck": _tier("stuck"),
    "safety_fix": _safety_failed,
    "component_fix": lambda s, log: _failed(s, GUARDED),
}
CHECK_LABELS = {
    "hard_brake_tier": "hard_brake tier",
    "weaving": "weaving",
    "stuck": "standing still",
    "safety_fix": "failed safety components (NC, TTC, DAC)",
    "component_fix": "failed safety, comfort and compliance components",
}


def case_checks(triggers) -> tuple[tuple[str | None, str], ...]:
    """The (trigger, check) pairs a case is judged by, in catalog order: its triggers whose catalog action is
    'counterfactual', each with its ``resolved_by`` check. ``triggers`` None (a scene that is no warehouse
    case) gives ``NO_CASE``: (None, 'component_fix')."""
    if triggers is None:
        return NO_CASE
    catalog = trigger_catalog()
    unknown = sorted(set(triggers) - set(catalog))
    if unknown:
        raise KeyError(f"triggers {unknown} are not in seeds/trigger_catalog.csv")
    order = list(catalog)
    pairs = []
    for trig in sorted(set(triggers), key=order.index):
        row = catalog[trig]
        if row["action"] != "counterfactual":
            continue
        if row["resolved_by"] not in CHECKS:
            raise ValueError(f"trigger {trig!r}: unknown resolved_by check {row['resolved_by']!r}")
        pairs.append((trig, row["resolved_by"]))
    return tuple(pairs)


def _still_stuck(traj: TrajBatch, params: dict[str, float], window_steps: int) -> np.ndarray:
    """True where the trajectory is stuck over its last ``window_steps`` steps by the trigger's definition."""
    w = int(np.clip(window_steps, 1, traj.v.shape[1] - 1))
    moving = (traj.v[:, -w - 1:] > params["max_speed_mps"]).all(axis=1)
    return ~(moving & (traj.s[:, -1] - traj.s[:, -w - 1] > params["max_displacement_m"]))


def stuck_tier(traj: TrajBatch, log: TrajBatch, params: dict[str, float], window_steps: int) -> np.ndarray:
    """The ``stuck`` check's tier per trajectory (see the module docstring); ``params``: the stuck trigger's,
    ``window_steps``: the catalog's check_window_s in steps."""
    stuck = _still_stuck(traj, params, window_steps)
    if _still_stuck(log, params, window_steps)[0]:
        stuck |= ~(traj.s[:, -1] - log.s[0, -1] > params["max_displacement_m"])
    return stuck.astype(float)


def case_tiers(world: World, traj: TrajBatch) -> dict[str, np.ndarray]:
    """What the checks need beyond the scorer's components (added to the scores): the stuck tier, the largest
    lateral gap to the log at the same step (``lateral_dev_m``) and the mean distance from the lane centre
    (``centre_offset_m``, |d| of the reference lane)."""
    catalog = trigger_catalog()
    window_s = catalog["stuck"]["check_window_s"]
    steps = round(window_s / world.dt) if window_s else traj.v.shape[1] - 1
    margin = catalog["hard_brake"]["tier_margin_mps2"] or 0.0
    clear = hard_brake_tier(scoring.lon_acc(traj, world.dt) - margin, traj.v, world.hard_brake, world.dt)
    return {"stuck": stuck_tier(traj, world.log, trigger_params("stuck", world.ego.vehicle_class), steps),
            "hard_brake_tier_clear": clear.astype(float),
            "lateral_dev_m": np.abs(traj.d - world.log.d[0]).max(axis=1),
            "centre_offset_m": np.abs(traj.d).mean(axis=1)}


def _as_arrays(log: dict[str, float]) -> dict[str, np.ndarray]:
    return {k: np.array([v], dtype=float) for k, v in log.items()}


def _resolves(trig: str | None, check: str, scores: dict[str, np.ndarray], log: dict[str, float]):
    """(log tier, candidate tiers, mask): the candidate lowers the log's tier, the log has one, and the
    candidate keeps within the trigger's max_lateral_deviation_m of the log's path."""
    log_a = _as_arrays(log)
    log_tier = int(CHECKS[check](log_a, log_a)[0])
    tiers = CHECKS[check](scores, log_a)
    clear = f"{check}_clear"  # the tier a candidate must lower: with the catalog's margin where it has one
    judged = CHECKS[check](scores | {check: scores[clear]}, log_a) if clear in scores else tiers
    ok = (log_tier > 0) & (judged < log_tier)
    limit_m = None if trig is None else trigger_catalog()[trig]["max_lateral_deviation_m"]
    if limit_m is not None:
        ok &= np.nan_to_num(np.asarray(scores["lateral_dev_m"], float), nan=np.inf) <= limit_m + EPS
    return log_tier, tiers, ok


def resolved(scores: dict[str, np.ndarray], log: dict[str, float], checks=NO_CASE) -> np.ndarray:
    """(len(checks), N) mask: the candidate resolves the (trigger, check) (see ``_resolves``)."""
    n = len(scores["pdms"])
    rows = np.zeros((len(checks), n), dtype=bool)
    for i, (trig, check) in enumerate(checks):
        rows[i] = _resolves(trig, check, scores, log)[2]
    return rows


def no_worse(scores: dict[str, np.ndarray], log: dict[str, float]) -> np.ndarray:
    """Mask of unpruned, collision-free candidates at least as good as the log on every component but EP,
    and firing no warehouse trigger harder than the log."""
    ok = ~np.asarray(scores["pruned"], dtype=bool) & (np.nan_to_num(np.asarray(scores["nc"], float)) >= 1.0 - EPS)
    for k in GUARDED:
        ok &= np.nan_to_num(np.asarray(scores[k], float), nan=-np.inf) >= log[k] - EPS
    for k in FIRED:
        ok &= np.nan_to_num(np.asarray(scores[k], float), nan=9) <= log[k]
    return ok


def improves(scores: dict[str, np.ndarray], log: dict[str, float], checks=NO_CASE) -> np.ndarray:
    """Mask of candidates that improve on the log (see the module docstring); ``checks`` from ``case_checks``."""
    return resolved(scores, log, checks).any(axis=0) & no_worse(scores, log)


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Indices of the rows of (M, K) values (higher is better) that no other row dominates."""
    m = len(values)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    ge = (values[:, None, :] >= values[None, :, :]).all(axis=-1)
    gt = (values[:, None, :] > values[None, :, :]).any(axis=-1)
    dominated = (ge & gt).any(axis=0)
    return np.nonzero(~dominated)[0]


def choose(scores: dict[str, np.ndarray], log: dict[str, float], cands: TrajBatch, log_traj: TrajBatch,
           checks=NO_CASE):
    """(chosen index or None, the Pareto front of the improving candidates in order of preference)."""
    res = resolved(scores, log, checks)
    ok = np.nonzero(res.any(axis=0) & no_worse(scores, log))[0]
    if not len(ok):
        return None, ok
    values = np.column_stack([scores[ax][ok] for ax in AXES])
    front = ok[pareto_front(values)]
    deviation = np.hypot(cands.x[front] - log_traj.x[0], cands.y[front] - log_traj.y[0]).mean(axis=1)
    total = sum(scores[ax][front] for ax in AXES)
    fired = scores["hard_brake_tier"][front] + scores["weaving"][front]
    n_resolved = res[:, front].sum(axis=0)
    # most of the case's triggers resolved, best PDMS (to 0.01), fewest trigger tiers fired, best axes total,
    # closest to the log
    order = np.lexsort((deviation, -total, fired, -np.round(scores["pdms"][front], 2), -n_resolved))
    return int(front[order[0]]), front[order]


def resolution(sol: dict[str, float] | None, log: dict[str, float], checks=NO_CASE) -> list[dict]:
    """Per (trigger, check) of the case: the log's tier, the solution's, and whether the solution resolves it."""
    out = []
    for trig, check in checks:
        log_tier, tiers, ok = _resolves(trig, check, _as_arrays(log if sol is None else sol), log)
        out.append({"trigger": trig, "check": check, "log_tier": log_tier,
                    "solution_tier": None if sol is None else int(tiers[0]),
                    "resolved": sol is not None and bool(ok[0])})
    return out


def _tier_text(check: str, tier: int) -> str:
    if check == "hard_brake_tier":
        return TIERS[tier]
    if check in ("weaving", "stuck"):
        return "yes" if tier else "no"
    return str(tier)


def describe(res: dict) -> str:
    """One line on one entry of ``resolution``."""
    name = res["trigger"] or "scene"
    label = CHECK_LABELS[res["check"]]
    log_t = _tier_text(res["check"], res["log_tier"])
    if res["resolved"]:
        return f"resolves {name} ({label}: log {log_t} -> solution {_tier_text(res['check'], res['solution_tier'])})"
    if res["log_tier"] == 0:
        nothing = {"hard_brake_tier": "hard_brake does not fire on the log in the replay horizon",
                   "weaving": "weaving does not fire on the log in the replay horizon",
                   "stuck": "the log is not stuck at the end of the replay horizon",
                   "safety_fix": "the log passes NC, TTC and DAC: nothing a trajectory could fix",
                   "component_fix": "the log fails no safety, comfort or compliance component"}[res["check"]]
        return f"{name}: {nothing}"
    limit_m = None if res["trigger"] is None else trigger_catalog()[res["trigger"]]["max_lateral_deviation_m"]
    path = "" if limit_m is None else f" or leaving the log's path by more than {limit_m:g} m"
    return (f"{name}: no candidate lowers the log's {label} ({log_t}) without being worse on safety, comfort "
            f"or compliance{path}")


def verdict(checks, log: dict[str, float]) -> str:
    """Why no improvement is claimed."""
    if not checks:
        return "log is best: no trigger of the case asks for a counterfactual"
    return "log is best: " + "; ".join(describe(r) for r in resolution(None, log, checks))


def deltas(sol: dict[str, float], log: dict[str, float]) -> dict[str, float]:
    keys = COMPONENTS + ("pdms",) + AXES + ("progress_m",)
    return {k: float(sol[k] - log[k]) for k in keys}


def fixed(sol: dict[str, float], log: dict[str, float], checks=NO_CASE) -> dict:
    """What the solution fixed: the trigger it resolves and how, and every component that changed, by how much."""
    res = resolution(sol, log, checks)
    done = [r for r in res if r["resolved"]]
    first = done[0] if done else None
    changed = {k: {"log": float(log[k]), "solution": float(sol[k]), "delta": float(sol[k] - log[k])}
               for k in COMPONENTS if abs(sol[k] - log[k]) > EPS}
    return {
        "trigger": None if first is None else first["trigger"],
        "check": None if first is None else first["check"],
        "log_tier": None if first is None else first["log_tier"],
        "solution_tier": None if first is None else first["solution_tier"],
        "summary": "; ".join(describe(r) for r in done),
        "resolved": done,
        "components_better": sorted(k for k, v in changed.items() if v["delta"] > 0),
        "components_worse": sorted(k for k, v in changed.items() if v["delta"] < 0),
        "component_deltas": changed,
    }


def decision_points(sol: TrajBatch, log: TrajBatch, sol_scores: dict[str, float], log_scores: dict[str, float],
                    dt: float, checks=NO_CASE) -> list[dict]:
    """When and where the solution departs from the log, and what the change resolves."""
    pos = np.hypot(sol.x[0] - log.x[0], sol.y[0] - log.y[0])
    lat = sol.d[0] - log.d[0]
    dv = sol.v[0] - log.v[0]
    done = [r for r in resolution(sol_scores, log_scores, checks) if r["resolved"]]
    gains = {k: sol_scores[k] - log_scores[k] for k in COMPONENTS if k != "ep"}
    if done:
        driver = done[0]["trigger"] or done[0]["check"]
        why = "; ".join(describe(r) for r in done)
    else:
        driver = max(gains, key=lambda k: (gains[k], k))
        why = f"{driver}: log {log_scores[driver]:.3g} -> solution {sol_scores[driver]:.3g}"
    better = [f"{k} {log_scores[k]:.3g} -> {sol_scores[k]:.3g}" for k in gains if gains[k] > EPS]
    if better:
        why += "; components " + ", ".join(better)
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
