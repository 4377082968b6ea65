"""Benchmark of the counterfactual scorer.

Scenes: seeded synthetic three-lane roads with 30 agents (moving traffic and stopped cars) and an 8 s
horizon at 10 Hz, plus the real US-101 (NGSIM, CommonRoad) scene when present. Figures printed:
Single-process figures are CPU seconds of this process (``time.process_time``: the machine is shared,
so wall time on a loaded box overstates them; the load average is printed); the pool figure is wall time.
- per case: time of the whole search (>= 1,000 candidates: lattice + CEM, rollout + scoring) with
  and without the robustness re-check, candidates scored per second;
- scoring only, vectorised vs the straightforward per-candidate Python loop
  (``fleetloop.scorer.reference``) on the same candidates, asserting both give the same scores (the
  loop runs on a sample of ``--loop-sample`` candidates per scene and is extrapolated per candidate);
- NAVSIM PDMS: each scene's first 1,000 search candidates cut to 4 s, re-simulated by the LQR tracker on the
  bicycle and scored by the PDM scorer (candidates per second on one core), and PDM-Closed's 15 proposals
  (unrolled, simulated, scored; NAVSIM's figure: 91 ms);
- 1,000 cases on 2 cores: measured on ``--pool-cases`` cases with a 2-process pool and projected.

Run: ``python benchmarks/bench_scorer.py [--scenes 5] [--loop-sample 100] [--pool-cases 40]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as run.py: one BLAS thread per process

import argparse
import multiprocessing as mp
import statistics
import time
from pathlib import Path

import numpy as np

from fleetloop.scorer import reference, scoring
from fleetloop.scorer.navsim import cache as metric_cache
from fleetloop.scorer.navsim.enums import SE2, STATE_SIZE
from fleetloop.scorer.navsim.pdm_score import score_states
from fleetloop.scorer.navsim.reference import pdm_closed
from fleetloop.scorer.navsim.simulator import center_to_rear_axle
from fleetloop.scorer.scene import EgoSpec, Scene, constant_track, log_from_speeds, straight_lanes
from fleetloop.scorer.solve import SearchConfig, solve

T = 80
AGENTS = 30
NAVSIM_CANDIDATES = 1000
US101 = Path(__file__).resolve().parents[1] / "tests/data/commonroad/ngsim/USA_US101-4_1_T-1/USA_US101-4_1_T-1.xml"


def synthetic_scene(seed: int) -> Scene:
    """Three eastbound lanes, 30 agents around the ego (a few stopped), the ego braking late for one."""
    rng = np.random.default_rng(seed)
    lanes = straight_lanes(3, length_m=400.0, speed_limit_mps=16.7, start_x_m=-100.0)
    v0 = float(rng.uniform(8.0, 13.0))
    stop_x = float(rng.uniform(40.0, 60.0))
    speeds, dist = [v0], 0.0
    for _ in range(T):
        v = speeds[-1]
        nv = max(0.0, v + (-6.0 if dist >= stop_x - 2.25 - 2.4 - v * v / 12.0 - 1.0 else 0.0) * 0.1)
        dist += (v + nv) / 2 * 0.1
        speeds.append(nv)
    tracks, classes = [constant_track(stop_x, 0.0, 0.0, 0.0, T)], ["car"]
    while len(tracks) < AGENTS:
        lane = int(rng.integers(0, 3))
        x = float(rng.uniform(-80.0, 200.0))
        if lane == 0 and -15.0 < x < stop_x + 10.0:
            continue
        v = 0.0 if rng.random() < 0.15 else float(rng.uniform(6.0, 15.0))
        tracks.append(constant_track(x, lane * 3.5, 0.0, v, T))
        classes.append("car")
    return Scene(
        scene_id=f"bench_{seed}", source="synthetic", ego=EgoSpec.for_class("urban_delivery"),
        ego_log=log_from_speeds(0.0, 0.0, 0.0, np.array(speeds)),
        agent_ids=np.array([f"a{i}" for i in range(AGENTS)]), agent_classes=np.array(classes),
        agent_length_m=np.full(AGENTS, 4.5), agent_width_m=np.full(AGENTS, 1.9),
        agent_states=np.stack(tracks), lanes=lanes,
    )


def scenes(count: int) -> list[Scene]:
    out = [synthetic_scene(s) for s in range(count)]
    if US101.is_file():
        from fleetloop.scorer.commonroad_scene import load_commonroad

        out.append(load_commonroad(US101))
    return out


def _solve_one(seed: int) -> float:
    t0 = time.process_time()
    solve(synthetic_scene(seed), SearchConfig(seed=seed))
    return time.process_time() - t0


def _cpu(fn):
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def navsim_figures(result) -> dict[str, float]:
    """NAVSIM PDMS of the case's first ``NAVSIM_CANDIDATES`` candidates (4 s) and PDM-Closed's cost."""
    scene = result.scene
    cache = metric_cache.build(scene)
    _, t_pdm = _cpu(lambda: pdm_closed(cache, scene))
    cands = result.candidates.take(np.arange(min(NAVSIM_CANDIDATES, len(result.candidates))))
    k = cache.steps + 1
    poses = center_to_rear_axle(np.stack([cands.x[:, :k], cands.y[:, :k], cands.h[:, :k]], axis=-1), cache.vehicle)
    proposals = np.zeros((len(cands), k, STATE_SIZE))
    proposals[:, 0] = cache.ego_state
    proposals[:, 1:, SE2] = poses[:, 1:]
    scores, t_score = _cpu(lambda: score_states(cache, proposals))
    return {"navsim_cands": len(cands), "navsim_s": t_score, "navsim_cand_per_s": len(cands) / t_score,
            "pdm_closed_ms": t_pdm * 1000, "navsim_pdms_mean": float(scores.scores.mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=5)
    ap.add_argument("--loop-sample", type=int, default=100)
    ap.add_argument("--pool-cases", type=int, default=40)
    args = ap.parse_args()

    print(f"scenes: {args.scenes} synthetic (3 lanes, {AGENTS} agents, {T / 10:.0f} s at 10 Hz)"
          + (" + US-101 (NGSIM)" if US101.is_file() else ""))
    solve(synthetic_scene(999), SearchConfig(seed=0))  # warm-up (imports, caches)
    rows = []
    for scene in scenes(args.scenes):
        full, t_full = _cpu(lambda scene=scene: solve(scene, SearchConfig(seed=0)))
        _, t_bare = _cpu(lambda scene=scene: solve(scene, SearchConfig(seed=0, robustness_variants=0)))
        n = len(full.theta)
        # scoring only: the whole candidate set vectorised vs the per-candidate loop on a sample
        prune = {"nc": full.log_scores["nc"], "dac": full.log_scores["dac"]}
        cands = full.candidates.take(full.feasible)
        vec, t_vec = _cpu(lambda full=full, cands=cands, prune=prune: scoring.score(
            full.world, cands, progress_ref=full.progress_ref, prune_below=prune))
        idx = np.linspace(0, len(cands) - 1, min(args.loop_sample, len(cands))).astype(int)
        loop, t_loop = _cpu(lambda full=full, cands=cands, idx=idx, prune=prune: reference.score_loop(
            full.world, cands.take(idx), full.progress_ref, prune))
        t_loop = t_loop / len(idx) * len(cands)
        for k in loop:
            np.testing.assert_allclose(np.asarray(vec[k], float)[idx], np.asarray(loop[k], float),
                                       equal_nan=True, err_msg=f"{scene.scene_id}: {k}")
        rows.append({
            "scene": scene.scene_id, "agents": len(scene.agent_ids), "steps": scene.steps, "candidates": n,
            "search_s": t_bare, "with_robustness_s": t_full, "cand_per_s": n / t_bare,
            "score_vec_s": t_vec, "score_loop_s": t_loop,
            "speedup": t_loop / t_vec, "improved": full.improved, **navsim_figures(full),
        })
    print(f"CPU seconds on one core; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'scene':28s} {'agents':>6s} {'cands':>6s} {'search s':>9s} {'+robust s':>9s} {'cand/s':>8s} "
          f"{'score vec s':>11s} {'loop s (extrap.)':>16s} {'speedup':>8s} improved")
    for r in rows:
        print(f"{r['scene']:28s} {r['agents']:6d} {r['candidates']:6d} {r['search_s']:9.3f} "
              f"{r['with_robustness_s']:9.3f} {r['cand_per_s']:8.0f} {r['score_vec_s']:11.3f} "
              f"{r['score_loop_s']:16.2f} {r['speedup']:7.0f}x {r['improved']}")
    print(f"{'scene':28s} {'NAVSIM cands':>12s} {'track+score s':>13s} {'cand/s':>8s} {'PDM-Closed ms':>13s}")
    for r in rows:
        print(f"{r['scene']:28s} {r['navsim_cands']:12d} {r['navsim_s']:13.3f} {r['navsim_cand_per_s']:8.0f} "
              f"{r['pdm_closed_ms']:13.0f}")
    med = statistics.median
    print("NAVSIM PDMS (LQR tracker + bicycle + PDM scorer, 4 s): "
          f"median {med(r['navsim_cand_per_s'] for r in rows):.0f} candidates/s per core; "
          f"PDM-Closed's 15 proposals in {med(r['pdm_closed_ms'] for r in rows):.0f} ms "
          "per case on one core (NAVSIM's figure: 91 ms)")
    print(f"median per case: search {med(r['search_s'] for r in rows):.3f} s (target <= 0.5 s), "
          f"with robustness {med(r['with_robustness_s'] for r in rows):.3f} s, "
          f"{med(r['cand_per_s'] for r in rows):.0f} candidates/s; "
          f"scoring speedup vs per-candidate loop {med(r['speedup'] for r in rows):.0f}x (target >= 50x); "
          "loop and vectorised scores agree")
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(2) as pool:
        per_case = pool.map(_solve_one, range(1000, 1000 + args.pool_cases))
    wall = time.perf_counter() - t0
    print(f"2 cores (load average {os.getloadavg()[0]:.1f}): {args.pool_cases} cases (full solve incl. robustness) "
          f"in {wall:.1f} s wall, {statistics.mean(per_case):.3f} CPU s per case -> 1,000 cases: "
          f"{wall / args.pool_cases * 1000 / 60:.1f} min at this wall rate, "
          f"{statistics.mean(per_case) * 1000 / 2 / 60:.1f} min on 2 free cores (target <= 10 min)")


if __name__ == "__main__":
    main()
