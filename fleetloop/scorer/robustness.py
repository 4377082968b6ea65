"""What-if variants of the agents: re-check the chosen solution where the world went a little differently.

Three families, drawn from a seeded generator: agent speeds scaled by 0.8..1.2 (re-timed along their own
logged paths), reaction delays of 0.2..1.0 s (tracks replayed late, first state held), and position
noise (a constant offset per agent of sigma 0.1..0.5 m).
"""

from __future__ import annotations

import numpy as np

from fleetloop.scorer import scoring
from fleetloop.scorer.select import NO_CASE, improves
from fleetloop.scorer.world import Agents, TrajBatch, World

FAMILIES = ("speed", "delay", "noise")


def _retime(track: np.ndarray, factor: float, dt: float) -> np.ndarray:
    """One agent's (T+1, 4) track driven at ``factor`` x its speed along the same path."""
    ok = np.all(np.isfinite(track), axis=1)
    if ok.sum() < 2:
        return track.copy()
    idx = np.nonzero(ok)[0]
    pts = track[idx, :2]
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    if arc[-1] < 1e-6:
        return track.copy()
    target = arc * factor
    out = track.copy()
    h_end = track[idx[-1], 2]
    beyond = np.maximum(target - arc[-1], 0.0)
    out[idx, 0] = np.interp(target, arc, pts[:, 0]) + beyond * np.cos(h_end)
    out[idx, 1] = np.interp(target, arc, pts[:, 1]) + beyond * np.sin(h_end)
    out[idx, 2] = np.interp(np.minimum(target, arc[-1]), arc, track[idx, 2])
    out[idx, 3] = track[idx, 3] * factor
    return out


def variants(world: World, count: int = 24, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """``count`` (name, agent states (A, T+1, 4)) variants, the families in turn."""
    rng = np.random.default_rng(seed)
    base = world.agents.states()[0]
    out = []
    for i in range(count):
        fam = FAMILIES[i % len(FAMILIES)]
        st = base.copy()
        if fam == "speed":
            factor = float(rng.uniform(0.8, 1.2))
            st = np.stack([_retime(tr, factor, world.dt) for tr in base]) if len(base) else st
            name = f"speed x{factor:.2f}"
        elif fam == "delay":
            delay = float(rng.uniform(0.2, 1.0))
            k = int(round(delay / world.dt))
            st[:, k:] = base[:, : base.shape[1] - k]
            st[:, :k] = base[:, :1]
            name = f"delay {k * world.dt:.1f}s"
        else:
            sigma = float(rng.uniform(0.1, 0.5))
            st[..., :2] += rng.normal(0.0, sigma, size=(len(base), 1, 2))
            name = f"noise {sigma:.2f}m"
        out.append((name, st))
    return out


def check(world: World, log_scores: dict[str, float], solution: TrajBatch, solution_scores: dict[str, float],
          progress_ref: float, count: int = 24, seed: int = 0, checks=NO_CASE) -> dict:
    """Re-score the log and the solution on each variant: shares that stay collision-free and better
    (still an improvement on the log by ``select.improves`` with the case's ``checks``).

    Only NC and TTC depend on the agents; the other components (and EP, against the case's progress bar
    ``progress_ref``) and the trigger tiers carry over from the case's scoring."""
    log = world.log
    pair = TrajBatch(*(np.concatenate([getattr(log, k), getattr(solution, k)]) for k in ("x", "y", "h", "v", "s", "d")))
    base = {k: np.array([log_scores[k], solution_scores[k]], dtype=float) for k in scoring.COMPONENTS + ("progress_m",)}
    base["ep"] = scoring.finish_ep(base["progress_m"], progress_ref)
    a = world.agents
    rows = []
    for name, st in variants(world, count, seed):
        nc, ttc, _ = scoring.collisions_and_ttc(world, pair, Agents.from_states(st, a.length, a.width, a.static))
        sc = scoring.finish(dict(base, nc=nc, ttc=ttc))
        log_v = {k: log_scores[k] for k in log_scores if k not in sc} | {k: float(v[0]) for k, v in sc.items()}
        sol_v = {k: np.array([solution_scores[k]], dtype=float) for k in solution_scores if k not in sc} | {
            k: v[1:] for k, v in sc.items()} | {"pruned": np.array([False])}
        rows.append({
            "variant": name,
            "collision_free": bool(nc[1] == 1.0),
            "better_than_log": bool(improves(sol_v, log_v, checks)[0]),
            "pdms_log": log_v["pdms"],
            "pdms_solution": float(sc["pdms"][1]),
        })
    n = len(rows)
    return {
        "variants": n,
        "collision_free_share": sum(r["collision_free"] for r in rows) / n if n else float("nan"),
        "better_share": sum(r["better_than_log"] for r in rows) / n if n else float("nan"),
        "detail": rows,
    }
