"""Score ego trajectories component by component, vectorised over candidates x time x agents.

NAVSIM PDMS = NC x DAC x (5 EP + 5 TTC + 2 C) / 12, plus driving-direction compliance (DDC), lane
keeping (LK) and speed-limit compliance (SLC), plus the warehouse's hard_brake and weaving triggers.
- NC: at-fault collisions: vehicle or VRU 0, static object 0.5, none 1. Blame is judged at the first
  contact with each agent; not at fault: ego stopped, or the agent's centre behind the ego's rear bumper
  (it ran into us).
- DAC: all four corners of the ego box inside the lanes' union at every sample.
- EP: progress along the reference path / best progress among safe and legal trajectories (NC = DAC =
  DDC = SLC = 1: speeding does not set the bar); 1 when that best progress is below 5 m.
- TTC: the ego box moved at constant velocity for 0.2..1.0 s must not hit an agent ahead (at its logged
  position at that time) that it does not already touch.
- C: nuPlan's comfort test (``navsim.comfort`` with nuPlan's own filter windows) on the longitudinal
  acceleration and speed x yaw rate.
- DDC: progress against the lane direction within any 1 s: <= 2 m -> 1, <= 6 m -> 0.5, else 0.
- LK: 0 when the centre stays > 0.5 m from the nearest lane centreline for more than 2 s.
- SLC: max(0, 1 - mean overspeed / 2.23 m/s) over the lanes' limits.
- TLC: 0 when the trajectory runs a red light (``stop_lines``).
Selection axes: safety = NC (1 + TTC) / 2, efficiency = EP, comfort = C,
compliance = DAC DDC TLC (LK + SLC) / 2.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter

from fleetloop.scorer.navsim.comfort import NUPLAN_WINDOWS, comfort_checks
from fleetloop.scorer.navsim.enums import STATE_SIZE, StateIndex
from fleetloop.scorer.stop_lines import red_light_violations
from fleetloop.scorer.triggers import hard_brake_tier, weaving_fired
from fleetloop.scorer.world import Agents, TrajBatch, World

SAVGOL_WINDOW = 7
SAVGOL_ORDER = 2
STOPPED_MPS = 0.05
EP_MIN_PROGRESS_M = 5.0
TTC_OFFSETS_S = (0.2, 0.4, 0.6, 0.8, 1.0)
DDC_WINDOW_S = 1.0
DDC_HALF_M, DDC_ZERO_M = 2.0, 6.0
LK_DEV_M, LK_MAX_S = 0.5, 2.0
OVERSPEED_REF_MPS = 2.23
COMPONENTS = ("nc", "dac", "ep", "ttc", "c", "ddc", "lk", "slc", "tlc")
AXES = ("safety", "efficiency", "comfort", "compliance")


def yaw_rate(traj: TrajBatch, dt: float) -> np.ndarray:
    """(N, T+1) yaw rate from the headings (Savitzky-Golay, ``SAVGOL_WINDOW``), as the trigger check reads it."""
    win = min(SAVGOL_WINDOW, traj.h.shape[1] - (1 - traj.h.shape[1] % 2))
    return savgol_filter(np.unwrap(traj.h, axis=-1), win, SAVGOL_ORDER, deriv=1, delta=dt, axis=-1, mode="interp")


def lon_acc(traj: TrajBatch, dt: float) -> np.ndarray:
    """(N, T+1) longitudinal acceleration: the measured or planned series, else the speed's differences."""
    if traj.acc is not None:
        return traj.acc
    acc = np.diff(traj.v, axis=1, append=traj.v[:, -1:]) / dt
    acc[:, -1] = acc[:, -2]
    return acc


def comfort(traj: TrajBatch, dt: float) -> np.ndarray:
    """(N,) nuPlan's comfort test (its bounds and filter windows) on the trajectory's accelerations, lateral
    acceleration = speed x yaw rate."""
    states = np.zeros(traj.x.shape + (STATE_SIZE,))
    states[..., StateIndex.HEADING] = traj.h
    states[..., StateIndex.ACCELERATION_X] = lon_acc(traj, dt)
    states[..., StateIndex.ACCELERATION_Y] = traj.v * yaw_rate(traj, dt)
    return comfort_checks(states, dt, windows=NUPLAN_WINDOWS).all(axis=-1).astype(float)


def obb_overlap(dx, dy, c1, s1, l1, w1, c2, s2, l2, w2) -> np.ndarray:
    """Separating-axis test of two oriented boxes given the cos/sin of their headings; (dx, dy) = centre 2
    - centre 1. Broadcasts."""
    cd = np.abs(c1 * c2 + s1 * s2)  # |cos(h1 - h2)|
    sd = np.abs(s1 * c2 - c1 * s2)  # |sin(h1 - h2)|
    return ~(
        (np.abs(dx * c1 + dy * s1) > (l1 + l2 * cd + w2 * sd) / 2)
        | (np.abs(-dx * s1 + dy * c1) > (w1 + l2 * sd + w2 * cd) / 2)
        | (np.abs(dx * c2 + dy * s2) > (l2 + l1 * cd + w1 * sd) / 2)
        | (np.abs(-dx * s2 + dy * c2) > (w2 + l1 * sd + w1 * cd) / 2)
    )


def collisions_and_ttc(world: World, traj: TrajBatch, agents: Agents) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NC (N,), TTC (N,) and the first at-fault collision step (N,; -1 if none) against one agent set.

    One dense broad phase over (N, A, T+1) centre distances (within reach of a box, or of the 1 s
    projection), then exact box tests on the sparse pairs left."""
    n_c, t1 = traj.x.shape
    nc = np.ones(n_c)
    ttc = np.ones(n_c)
    first = np.full(n_c, -1)
    if len(agents) == 0:
        return nc, ttc, first
    el, ew = world.ego.length_m, world.ego.width_m
    per_cand = agents.x.shape[0] > 1

    def pick(arr, n, a, t):
        return arr[n if per_cand else 0, a, t]

    reach = (np.hypot(el, ew) + np.hypot(agents.length, agents.width)) / 2  # (A,)
    speed_a = np.abs(agents.v).max(axis=-1, keepdims=True)
    span = reach[None, :, None] + (traj.v[:, None, :] + speed_a) * TTC_OFFSETS_S[-1] + 0.5
    dx = agents.x - traj.x[:, None, :]  # (N, A, T+1)
    dy = agents.y - traj.y[:, None, :]
    d2 = dx * dx + dy * dy
    n, a, t = np.nonzero((d2 < span * span) & agents.valid)
    dx, dy, d2 = dx[n, a, t], dy[n, a, t], d2[n, a, t]
    eh = traj.h[n, t]
    ec, es, ev = np.cos(eh), np.sin(eh), traj.v[n, t]
    ah = pick(agents.h, n, a, t)
    la, wa = agents.length[a], agents.width[a]
    touching = (d2 < reach[a] ** 2) & obb_overlap(dx, dy, ec, es, el, ew, np.cos(ah), np.sin(ah), la, wa)
    rel_x = dx * ec + dy * es
    # --- collisions (t >= 1); blame is judged at the first contact with each agent
    hit = touching & (t >= 1)
    hn, ha, ht, hv, hx = n[hit], a[hit], t[hit], ev[hit], rel_x[hit]
    order = np.lexsort((ht, ha, hn))
    hn, ha, ht, hv, hx = hn[order], ha[order], ht[order], hv[order], hx[order]
    first_contact = np.ones(len(hn), dtype=bool)
    first_contact[1:] = (hn[1:] != hn[:-1]) | (ha[1:] != ha[:-1])
    at_fault = first_contact & (hv > STOPPED_MPS) & (hx >= -el / 2)
    hn, ha, ht = hn[at_fault], ha[at_fault], ht[at_fault]
    order = np.lexsort((ht, hn))
    hn, ha, ht = hn[order], ha[order], ht[order]
    uniq, pos = np.unique(hn, return_index=True)
    first[uniq] = ht[pos]
    static = agents.static[ha]
    nc[np.unique(hn[static])] = 0.5
    nc[np.unique(hn[~static])] = 0.0
    # --- time to collision: a moving ego projected at constant velocity vs agents ahead it does not touch
    keep = (rel_x > 0) & (ev > STOPPED_MPS) & ~touching
    n, a, t, ec, es, ev, la, wa = (arr[keep] for arr in (n, a, t, ec, es, ev, la, wa))
    ex, ey = traj.x[n, t], traj.y[n, t]
    for off in TTC_OFFSETS_S:
        t2 = t + int(round(off / world.dt))
        inside = t2 < t1  # projections past the horizon have no logged agent to meet
        t2 = np.minimum(t2, t1 - 1)
        px = pick(agents.x, n, a, t2) - (ex + ev * ec * off)
        py = pick(agents.y, n, a, t2) - (ey + ev * es * off)
        m = np.nonzero(inside & pick(agents.valid, n, a, t2) & (px * px + py * py < reach[a] ** 2))[0]
        ah2 = pick(agents.h, n[m], a[m], t2[m])
        bad = obb_overlap(px[m], py[m], ec[m], es[m], el, ew, np.cos(ah2), np.sin(ah2), la[m], wa[m])
        ttc[np.unique(n[m][bad])] = 0.0
    return nc, ttc, first


def box_corners(world: World, traj: TrajBatch) -> np.ndarray:
    """(N, T+1, 4, 2) corners of the ego's box along each trajectory."""
    c, s = np.cos(traj.h), np.sin(traj.h)
    hl, hw = world.ego.length_m / 2, world.ego.width_m / 2
    corners = [(traj.x + a * c - b * s, traj.y + a * s + b * c)
               for a, b in ((hl, hw), (hl, -hw), (-hl, hw), (-hl, -hw))]
    return np.stack([np.stack(xy, axis=-1) for xy in corners], axis=-2)


def drivable_area(world: World, traj: TrajBatch) -> np.ndarray:
    corners = box_corners(world, traj)
    return world.corridor.on_road_xy(corners[..., 0], corners[..., 1]).all(axis=(1, 2)).astype(float)


def _max_run(mask: np.ndarray) -> np.ndarray:
    """Longest run of True per row, in samples."""
    run = np.zeros(mask.shape[0], dtype=np.int64)
    best = np.zeros_like(run)
    for t in range(mask.shape[1]):
        run = np.where(mask[:, t], run + 1, 0)
        best = np.maximum(best, run)
    return best


def lane_components(world: World, traj: TrajBatch) -> dict[str, np.ndarray]:
    """DDC, LK, SLC, TLC (N,)."""
    facts = world.corridor.lane_facts(traj.s, traj.d)
    step = np.diff(traj.s, axis=1)
    against = facts["against"][:, 1:]
    wrong = np.where(against, np.maximum(step, 0.0), np.maximum(-step, 0.0))
    w = max(1, int(round(DDC_WINDOW_S / world.dt)))
    c = np.concatenate([np.zeros((len(traj), 1)), np.cumsum(wrong, axis=1)], axis=1)
    worst = (c[:, w:] - c[:, :-w]).max(axis=1) if c.shape[1] > w else c[:, -1]
    ddc = np.where(worst <= DDC_HALF_M, 1.0, np.where(worst <= DDC_ZERO_M, 0.5, 0.0))
    off = ~(facts["centre_dist_m"] <= LK_DEV_M)
    lk = np.where(_max_run(off) * world.dt > LK_MAX_S + 1e-9, 0.0, 1.0)
    limit = np.nan_to_num(facts["speed_limit_mps"], nan=np.inf)
    overspeed = np.maximum(traj.v - limit, 0.0).mean(axis=1)
    slc = np.maximum(0.0, 1.0 - overspeed / OVERSPEED_REF_MPS)
    tlc = np.where(red_light_violations(world.stop_lines, traj.x, traj.y), 0.0, 1.0)
    return {"ddc": ddc, "lk": lk, "slc": slc, "tlc": tlc}


def trigger_tiers(world: World, traj: TrajBatch) -> dict[str, np.ndarray]:
    rate = yaw_rate(traj, world.dt) if traj.yaw_rate is None else traj.yaw_rate
    return {
        "hard_brake_tier": hard_brake_tier(lon_acc(traj, world.dt), traj.v, world.hard_brake, world.dt),
        "weaving": weaving_fired(rate, traj.v, np.unwrap(traj.h, axis=1), world.weaving, world.dt).astype(float),
    }


def score(world: World, traj: TrajBatch, progress_ref: float | None = None, reactive: Agents | None = None,
          prune_below: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Every component per trajectory (arrays of shape (N,)).

    progress_ref: best safe progress for EP (default: the best in this batch).
    reactive: per-candidate agents (Na = N) scored in addition to the world's log-replayed ones.
    prune_below: {'nc': x, 'dac': y}: trajectories below these are pruned after the cheap stage: their
    later components are NaN (a candidate that collides or leaves the road where the log did not
    cannot improve on it).
    """
    n = len(traj)
    nc, ttc, first = collisions_and_ttc(world, traj, world.agents)
    if reactive is not None:
        nc2, ttc2, first2 = collisions_and_ttc(world, traj, reactive)
        first = np.where((first < 0) | ((first2 >= 0) & (first2 < first)), first2, first)
        nc, ttc = np.minimum(nc, nc2), np.minimum(ttc, ttc2)
    dac = drivable_area(world, traj)
    progress = traj.s[:, -1] - traj.s[:, 0]
    out = {"nc": nc, "dac": dac, "progress_m": progress, "first_collision_step": first}
    alive = np.ones(n, dtype=bool)
    if prune_below:
        alive = (nc >= prune_below["nc"]) & (dac >= prune_below["dac"])
    out["pruned"] = ~alive
    rest = {k: np.full(n, np.nan) for k in ("ttc", "c", "ddc", "lk", "slc", "tlc", "hard_brake_tier", "weaving")}
    if alive.any():
        sub = traj.take(alive)
        rest["ttc"][alive] = ttc[alive]
        rest["c"][alive] = comfort(sub, world.dt)
        for k, v in (lane_components(world, sub) | trigger_tiers(world, sub)).items():
            rest[k][alive] = v
    out.update(rest)
    safe = safe_and_legal(out)
    ref = progress_ref if progress_ref is not None else (progress[safe].max() if safe.any() else 0.0)
    out["ep"] = finish_ep(progress, ref)
    return finish(out)


def safe_and_legal(scores: dict[str, np.ndarray]) -> np.ndarray:
    """Trajectories that may set the progress bar for EP."""
    return ((scores["nc"] == 1.0) & (scores["dac"] == 1.0) & (np.nan_to_num(scores["ddc"]) == 1.0)
            & (np.nan_to_num(scores["slc"]) >= 1.0 - 1e-9))


def finish_ep(progress: np.ndarray, progress_ref: float) -> np.ndarray:
    if progress_ref < EP_MIN_PROGRESS_M:
        return np.ones_like(progress)
    return np.clip(progress / progress_ref, 0.0, 1.0)


def finish(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """PDMS and the four selection axes from the components (recomputed when EP changes)."""
    out["pdms"] = out["nc"] * out["dac"] * (5 * out["ep"] + 5 * out["ttc"] + 2 * out["c"]) / 12
    out["safety"] = out["nc"] * (1 + out["ttc"]) / 2
    out["efficiency"] = out["ep"]
    out["comfort"] = out["c"]
    out["compliance"] = out["dac"] * out["ddc"] * out["tlc"] * (out["lk"] + out["slc"]) / 2
    return out


def rescore_ep(scores: dict[str, np.ndarray], progress_ref: float) -> dict[str, np.ndarray]:
    out = dict(scores)
    out["ep"] = finish_ep(scores["progress_m"], progress_ref)
    return finish(out)
