"""Selection against the log: the improvement test, the Pareto front, the chosen solution, what it resolves,
its cost deltas and key decision points.

A candidate improves on the log only when it resolves the case's own problem and is no worse than the log
on everything else that matters:

- **resolves**: for one of the case's counterfactual triggers (``seeds/trigger_catalog.csv``, action
  'counterfactual'), the check its catalog row names in ``resolved_by`` finds a problem on the log (tier
  > 0) and a lower tier on the candidate. The checks (``CHECKS``), each a tier per trajectory:
  ``hard_brake_tier`` the warehouse's hard_brake tier (0 none .. 3 severe); ``weaving`` whether weaving
  fires (0 / 1); ``stuck`` 1 when the trajectory stands still at the end of the horizon (speed below the
  stuck trigger's max_speed_mps) or, when the log does, has not moved on past where the log stood by more
  than its max_displacement_m (a solution can only move on where nothing blocks it: NC and TTC must hold);
  ``safety_fix`` how many of NC, TTC and DAC fail (< 1): triggers with no trajectory-level check
  (takeover, call_driver, ...) are resolved only when the log fails a safety component and the candidate
  passes it. A scene with no case trigger (a CommonRoad scenario, a hand-built scene) is judged by
  ``component_fix``: how many of the safety, comfort and compliance components fail.
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
from fleetloop.scorer.scoring import AXES, COMPONENTS
from fleetloop.scorer.triggers import TIERS
from fleetloop.scorer.world import TrajBatch, World

SAFETY = ("nc", "ttc", "dac")
GUARDED = tuple(k for k in COMPONENTS if k != "ep")  # no worse than the log on each of these
FIRED = ("hard_brake_tier", "weaving")  # warehouse triggers a candidate may not fire harder than the log
NO_TRIGGER_CHECK = "component_fix"
NO_CASE = ((None, NO_TRIGGER_CHECK),)
EPS = 1e-9
DEPART_POS_M = 0.5
DEPART_SPEED_MPS = 0.5


def _failed(scores: dict[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    return sum((~(np.nan_to_num(np.asarray(scores[k], float), nan=0.0) >= 1.0 - EPS)).astype(int) for k in keys)


CHECKS = {
    "hard_brake_tier": lambda s: np.nan_to_num(np.asarray(s["hard_brake_tier"], float), nan=9).astype(int),
    "weaving": lambda s: np.nan_to_num(np.asarray(s["weaving"], float), nan=9).astype(int),
    "stuck": lambda s: np.nan_to_num(np.asarray(s["stuck"], float), nan=9).astype(int),
    "safety_fix": lambda s: _failed(s, SAFETY),
    "component_fix": lambda s: _failed(s, GUARDED),
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


def stuck_tier(traj: TrajBatch, log: TrajBatch, params: dict[str, float]) -> np.ndarray:
    """The ``stuck`` check's tier per trajectory (see the module docstring); ``params``: the stuck trigger's."""
    stands = traj.v[:, -1] < params["max_speed_mps"]
    if log.v[0, -1] < params["max_speed_mps"]:
        moved_on = traj.s[:, -1] - log.s[0, -1] > params["max_displacement_m"]
        return (stands | ~moved_on).astype(float)
    return stands.astype(float)


def case_tiers(world: World, traj: TrajBatch) -> dict[str, np.ndarray]:
    """The trajectory-level tiers the scorer's components do not already hold (added to the scores)."""
    return {"stuck": stuck_tier(traj, world.log, trigger_params("stuck", world.ego.vehicle_class))}


def _as_arrays(log: dict[str, float]) -> dict[str, np.ndarray]:
    return {k: np.array([v], dtype=float) for k, v in log.items()}


def resolved(scores: dict[str, np.ndarray], log: dict[str, float], checks=NO_CASE) -> np.ndarray:
    """(len(checks), N) mask: the candidate lowers the check's tier below the log's, and the log has one."""
    n = len(scores["pdms"])
    rows = np.zeros((len(checks), n), dtype=bool)
    for i, (_, check) in enumerate(checks):
        log_tier = CHECKS[check](_as_arrays(log))[0]
        rows[i] = (log_tier > 0) & (CHECKS[check](scores) < log_tier)
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
        log_tier = int(CHECKS[check](_as_arrays(log))[0])
        sol_tier = None if sol is None else int(CHECKS[check](_as_arrays(sol))[0])
        out.append({"trigger": trig, "check": check, "log_tier": log_tier, "solution_tier": sol_tier,
                    "resolved": sol_tier is not None and log_tier > 0 and sol_tier < log_tier})
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
                   "stuck": "the log does not stand still in the replay horizon",
                   "safety_fix": "the log passes NC, TTC and DAC: nothing a trajectory could fix",
                   "component_fix": "the log fails no safety, comfort or compliance component"}[res["check"]]
        return f"{name}: {nothing}"
    return (f"{name}: no candidate lowers the log's {label} ({log_t}) without being worse on safety, comfort "
            "or compliance")


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
