"""The straightforward per-candidate scorer: plain Python loops over candidates, time steps and agents.

Same definitions as ``fleetloop.scorer.scoring`` (see its docstring); the benchmark times it against
the vectorised scorer and asserts that both agree, and tests use it as an independent oracle for the
geometry (boxes, corridor look-ups, runs and windows are re-implemented here with scalars).
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from fleetloop.scorer import scoring
from fleetloop.scorer.world import Agents, TrajBatch, World


def _box_overlap(x1, y1, h1, l1, w1, x2, y2, h2, l2, w2) -> bool:
    """Separating-axis test on the four edge normals, one axis at a time."""
    dx, dy = x2 - x1, y2 - y1
    for a in (h1, h1 + math.pi / 2, h2, h2 + math.pi / 2):
        c, s = math.cos(a), math.sin(a)
        r1 = l1 / 2 * abs(math.cos(h1 - a)) + w1 / 2 * abs(math.sin(h1 - a))
        r2 = l2 / 2 * abs(math.cos(h2 - a)) + w2 / 2 * abs(math.sin(h2 - a))
        if abs(dx * c + dy * s) > r1 + r2:
            return False
    return True


def _nc_ttc(world: World, tr: dict, agents: Agents) -> tuple[float, float]:
    el, ew = world.ego.length_m, world.ego.width_m
    steps = len(tr["x"]) - 1
    nc, ttc = 1.0, 1.0
    met = set()
    for t in range(steps + 1):
        ex, ey, eh, ev = tr["x"][t], tr["y"][t], tr["h"][t], tr["v"][t]
        for a in range(agents.x.shape[1]):
            if not agents.valid[0, a, t]:
                continue
            ax, ay, ah = agents.x[0, a, t], agents.y[0, a, t], agents.h[0, a, t]
            la, wa = agents.length[a], agents.width[a]
            touching = _box_overlap(ex, ey, eh, el, ew, ax, ay, ah, la, wa)
            rel_x = (ax - ex) * math.cos(eh) + (ay - ey) * math.sin(eh)
            if t >= 1 and touching and a not in met:
                met.add(a)
                if ev > scoring.STOPPED_MPS and rel_x >= -el / 2:
                    nc = min(nc, 0.5 if agents.static[a] else 0.0)
            if ev <= scoring.STOPPED_MPS or touching or rel_x <= 0:
                continue
            for off in scoring.TTC_OFFSETS_S:
                t2 = t + int(round(off / world.dt))
                if t2 > steps or not agents.valid[0, a, t2]:
                    continue
                fx, fy = ex + ev * math.cos(eh) * off, ey + ev * math.sin(eh) * off
                if _box_overlap(fx, fy, eh, el, ew, agents.x[0, a, t2], agents.y[0, a, t2], agents.h[0, a, t2], la, wa):
                    ttc = 0.0
    return nc, ttc


def _lanes_at(world: World, s: float) -> list[tuple[float, float, float, bool, float]]:
    c = world.corridor
    i = min(max(int(round((s - c.s0) / c.ds)), 0), len(c.lo) - 1)
    return [(c.lo[i, k], c.hi[i, k], c.centre[i, k], bool(c.same_dir[k]), c.speed_limit[k])
            for k in range(len(c.lane_ids)) if c.present[i, k]]


def _lane_fact(world: World, s: float, d: float) -> tuple[float, bool, float]:
    """(distance to the chosen lane centre, against traffic, speed limit) as in Corridor.lane_facts."""
    lanes = _lanes_at(world, s)
    if not lanes:
        return math.inf, False, math.inf
    inside = [(lo <= d <= hi) for lo, hi, *_ in lanes]
    def key(k):
        _, _, centre, same, _ = lanes[k]
        return abs(d - centre) + (0 if inside[k] else 1e6) + (0 if inside[k] and same else 1e3)
    k = min(range(len(lanes)), key=key)
    against = any(inside) and not any(inside[j] and lanes[j][3] for j in range(len(lanes)))
    return abs(d - lanes[k][2]), against, lanes[k][4]


def _runs_red(world: World, tr: dict) -> bool:
    """Whether the centre crosses a stop line forwards while its light is red, into a governed movement."""
    for line in world.stop_lines:
        (ax, ay), (bx, by) = line.left_xy, line.right_xy
        for t in range(1, len(tr["x"])):
            px, py, qx, qy = tr["x"][t - 1], tr["y"][t - 1], tr["x"][t], tr["y"][t]
            before = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
            after = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
            spans = ((qx - px) * (ay - py) - (qy - py) * (ax - px)) * ((qx - px) * (by - py) - (qy - py) * (bx - px))
            if not (before < 0 <= after and spans <= 0 and line.red[t]):
                continue
            if line.governed is None:
                return True
            later = [shapely.Point(x, y) for x, y in zip(tr["x"][t:], tr["y"][t:], strict=True)]
            governed = any(line.governed.contains(pt) for pt in later)
            entered = line.after is not None and any(line.after.contains(pt) for pt in later)
            if governed or not entered:
                return True
            break
    return False


def score_one(world: World, tr: dict, prune_below: dict[str, float] | None = None) -> dict[str, float]:
    """All components of one trajectory (dict of (T+1,) lists x, y, h, v, s, d and optional acc)."""
    dt = world.dt
    nc, ttc = _nc_ttc(world, tr, world.agents)
    hl, hw = world.ego.length_m / 2, world.ego.width_m / 2
    dac = 1.0
    for x, y, h in zip(tr["x"], tr["y"], tr["h"], strict=True):
        c, s = math.cos(h), math.sin(h)
        for a, b in ((hl, hw), (hl, -hw), (-hl, hw), (-hl, -hw)):
            if not world.corridor.road.contains(shapely.Point(x + a * c - b * s, y + a * s + b * c)):
                dac = 0.0
    out = {"nc": nc, "dac": dac, "progress_m": tr["s"][-1] - tr["s"][0]}
    nan = float("nan")
    if prune_below and (nc < prune_below["nc"] or dac < prune_below["dac"]):
        return out | {"pruned": True, "ttc": nan, "c": nan, "ddc": nan, "lk": nan, "slc": nan, "tlc": nan,
                      "hard_brake_tier": nan, "weaving": nan}
    one = TrajBatch(*(np.array([tr[k]]) for k in ("x", "y", "h", "v", "s", "d")),
                    acc=None if tr.get("acc") is None else np.array([tr["acc"]]))
    trig = scoring.trigger_tiers(world, one)
    facts = [_lane_fact(world, s, d) for s, d in zip(tr["s"], tr["d"], strict=True)]
    wrong = []
    for t in range(1, len(tr["s"])):
        step = tr["s"][t] - tr["s"][t - 1]
        wrong.append(max(step, 0.0) if facts[t][1] else max(-step, 0.0))
    w = max(1, int(round(scoring.DDC_WINDOW_S / dt)))
    worst = max(sum(wrong[i: i + w]) for i in range(max(len(wrong) - w + 1, 1)))
    ddc = 1.0 if worst <= scoring.DDC_HALF_M else (0.5 if worst <= scoring.DDC_ZERO_M else 0.0)
    run = best = 0
    for dist, _, _ in facts:
        run = run + 1 if not dist <= scoring.LK_DEV_M else 0
        best = max(best, run)
    lk = 0.0 if best * dt > scoring.LK_MAX_S + 1e-9 else 1.0
    over = sum(max(v - lim, 0.0) for v, (_, _, lim) in zip(tr["v"], facts, strict=True)) / len(tr["v"])
    return out | {"pruned": False, "ttc": ttc, "c": float(scoring.comfort(one, dt)[0]), "ddc": ddc, "lk": lk,
                  "slc": max(0.0, 1.0 - over / scoring.OVERSPEED_REF_MPS), "tlc": 0.0 if _runs_red(world, tr) else 1.0,
                  "hard_brake_tier": float(trig["hard_brake_tier"][0]), "weaving": float(trig["weaving"][0])}


def score_loop(world: World, traj: TrajBatch, progress_ref: float,
               prune_below: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Score a batch one candidate at a time; same keys as ``scoring.score`` (without first_collision_step)."""
    rows = []
    for i in range(len(traj)):
        tr = {k: getattr(traj, k)[i].tolist() for k in ("x", "y", "h", "v", "s", "d")}
        tr["acc"] = None if traj.acc is None else traj.acc[i].tolist()
        rows.append(score_one(world, tr, prune_below))
    out = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    out["ep"] = scoring.finish_ep(out["progress_m"], progress_ref)
    return scoring.finish(out)
