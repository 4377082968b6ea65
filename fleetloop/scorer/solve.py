"""Counterfactual replay of one scene: search, score, select, re-check. Deterministic for a given seed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from fleetloop.scorer import robustness, scoring, search
from fleetloop.scorer.navsim import reference
from fleetloop.scorer.scene import Scene
from fleetloop.scorer.select import (
    NO_CASE,
    case_checks,
    case_tiers,
    choose,
    decision_points,
    deltas,
    fixed,
    improves,
    resolution,
    verdict,
)
from fleetloop.scorer.world import TrajBatch, World, prepare

MIN_CANDIDATES = 1000
CEM_ITERATIONS = 4
CEM_POPULATION = 110
CEM_ELITE = 12
ROBUST_CHOICES = 3
TRIGGER_PENALTY = 1.0  # a trigger the log did not fire: out
TIER_PENALTY = 0.05  # any trigger tier: prefer candidates that fire none


@dataclass
class SearchConfig:
    seed: int = 0
    cem_iterations: int = CEM_ITERATIONS
    cem_population: int = CEM_POPULATION
    min_candidates: int = MIN_CANDIDATES
    reactive: bool = False
    robustness_variants: int = 24


@dataclass
class CaseResult:
    scene: Scene
    world: World
    theta: np.ndarray  # (M, 5) candidate parameters
    candidates: TrajBatch
    feasible: np.ndarray
    scores: dict[str, np.ndarray]
    log_scores: dict[str, float]
    progress_ref: float
    chosen: int | None
    front: np.ndarray
    timings_s: dict[str, float] = field(default_factory=dict)
    robustness: dict | None = None
    checks: tuple = NO_CASE  # (trigger, check) pairs the case is judged by (``select.case_checks``)

    @property
    def improved(self) -> bool:
        return self.chosen is not None

    @property
    def solution(self) -> TrajBatch | None:
        return None if self.chosen is None else self.candidates.take([self.chosen])

    @property
    def solution_scores(self) -> dict[str, float] | None:
        if self.chosen is None:
            return None
        return {k: float(v[self.chosen]) for k, v in self.scores.items()}

    def deltas(self) -> dict[str, float] | None:
        sol = self.solution_scores
        return None if sol is None else deltas(sol, self.log_scores)

    def decision_points(self) -> list[dict]:
        if self.chosen is None:
            return []
        return decision_points(self.solution, self.world.log, self.solution_scores, self.log_scores, self.world.dt,
                               self.checks)

    def resolution(self) -> list[dict]:
        """Per (trigger, check) of the case: log tier, solution tier, resolved."""
        return resolution(self.solution_scores, self.log_scores, self.checks)

    def fixed(self) -> dict | None:
        """What the solution fixed (trigger, check, tiers, component deltas); None without a solution."""
        return None if self.chosen is None else fixed(self.solution_scores, self.log_scores, self.checks)

    def verdict(self) -> str:
        """One line: what the solution resolves, or why the log is best."""
        if self.chosen is None:
            return verdict(self.checks, self.log_scores)
        return self.fixed()["summary"]

    def counts(self) -> dict[str, int]:
        return {
            "candidates": len(self.theta),
            "feasible": int(self.feasible.sum()),
            "pruned": int(self.scores["pruned"].sum()),
            "improving": int(improves(self.scores, self.log_scores, self.checks).sum()),
            "pareto_front": len(self.front),
        }


def _objective(scores: dict[str, np.ndarray], log: dict[str, float]) -> np.ndarray:
    """CEM ranking value: PDMS x DDC plus the lane components, minus penalties for triggers fired."""
    worse = (np.nan_to_num(scores["hard_brake_tier"], nan=9) > log["hard_brake_tier"]) | (
        np.nan_to_num(scores["weaving"], nan=9) > log["weaving"])
    val = (scores["pdms"] * scores["ddc"] + 0.1 * (scores["lk"] + scores["slc"]) / 2 - TRIGGER_PENALTY * worse
           - TIER_PENALTY * (scores["hard_brake_tier"] + scores["weaving"]))
    return np.where(scores["pruned"], -np.inf, np.nan_to_num(val, nan=-np.inf))


def _score_batch(world: World, theta: np.ndarray, log: dict[str, float], reactive: bool):
    """Roll out candidates (planned, then re-simulated by the LQR tracker on the kinematic bicycle) and score the
    tracked trajectories; infeasible ones (judged on the tracked states) are pruned (all components NaN)."""
    traj, ok = search.rollout(world, theta)
    followers = search.followers(world) if reactive else np.zeros(len(world.agents), dtype=bool)
    replay_world, reactive_agents = world, None
    if followers.any():
        replay_world = world.without_agents(followers)
        reactive_agents = search.react(world, traj, followers).take(ok)
    scores = scoring.score(replay_world, traj.take(ok), progress_ref=np.inf,
                           prune_below={"nc": log["nc"], "dac": log["dac"]}, reactive=reactive_agents)
    full = {}
    for k, v in scores.items():
        arr = np.full(len(theta), True if k == "pruned" else np.nan, dtype=v.dtype if k == "pruned" else float)
        arr[ok] = v
        full[k] = arr
    return traj, ok, full


def solve(scene: Scene, config: SearchConfig | None = None) -> CaseResult:
    """Search >= 1,000 candidates around the log, score them and the log, pick the improvement if any."""
    cfg = config or SearchConfig()
    rng = np.random.default_rng(cfg.seed)
    clock = time.perf_counter()
    timings = {}
    world = prepare(scene)
    progress_ref = reference_progress_m(world)
    log_raw = scoring.score(world, world.log, progress_ref=progress_ref)
    log = {k: float(v[0]) for k, v in log_raw.items()}
    timings["prepare"] = time.perf_counter() - clock

    theta = search.lattice(world)
    traj, ok, scores = _score_batch(world, theta, log, cfg.reactive)
    batches, oks, all_scores, thetas = [traj], [ok], [scores], [theta]
    timings["lattice"] = time.perf_counter() - clock - timings["prepare"]
    bnd = search.bounds(world)
    population = max(cfg.cem_population, -(-(cfg.min_candidates - len(theta)) // max(cfg.cem_iterations, 1)))
    for _ in range(cfg.cem_iterations):
        merged = {k: np.concatenate([s[k] for s in all_scores]) for k in scores}
        value = _objective(scoring.rescore_ep(merged, progress_ref), log)
        order = np.argsort(-value)[:CEM_ELITE]
        order = order[np.isfinite(value[order])]
        if not len(order):
            break
        theta_all = np.concatenate(thetas)
        new = search.cem_sample(rng, theta_all[order], bnd, population)
        traj, ok, scores = _score_batch(world, new, log, cfg.reactive)
        batches.append(traj)
        oks.append(ok)
        all_scores.append(scores)
        thetas.append(new)
    timings["refine"] = time.perf_counter() - clock - timings["prepare"] - timings["lattice"]

    cands = TrajBatch.concat(batches)
    merged = {k: np.concatenate([s[k] for s in all_scores]) for k in all_scores[0]}
    final = scoring.rescore_ep(merged, progress_ref)
    checks = case_checks(scene.metadata.get("triggers"))
    final |= case_tiers(world, cands)
    log |= {k: float(v[0]) for k, v in case_tiers(world, world.log).items()}
    chosen, front = choose(final, log, cands, world.log, checks)
    timings["select"] = time.perf_counter() - clock - sum(timings.values())
    result = CaseResult(scene, world, np.concatenate(thetas), cands, np.concatenate(oks), final, log,
                        progress_ref, chosen, front, timings, checks=checks)
    if chosen is not None and cfg.robustness_variants:
        # the first few of the front are re-checked on the what-if variants; the sturdiest one is chosen
        best = None
        for idx in front[:ROBUST_CHOICES]:
            result.chosen = int(idx)
            rob = robustness.check(world, log, result.solution, result.solution_scores, progress_ref,
                                   cfg.robustness_variants, cfg.seed, checks=checks)
            key = rob["collision_free_share"] + rob["better_share"]
            if best is None or key > best[0] + 1e-12:
                best = (key, int(idx), rob)
        _, result.chosen, result.robustness = best
    timings["robustness"] = time.perf_counter() - clock - sum(timings.values())
    timings["total"] = time.perf_counter() - clock
    return result


def reference_progress_m(world: World) -> float:
    """EP's fixed bar: PDM-Closed's progress along the reference path over the scene's horizon."""
    xy = reference.pdm_closed_centres(world.scene, world.steps)
    s, _ = world.ref.project(xy[:, 0], xy[:, 1])
    return float(s[-1] - s[0])
