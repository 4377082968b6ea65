"""``fleetloop replay``: counterfactual replay of one CommonRoad file or one warehouse case."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleetloop.scorer import package
from fleetloop.scorer.scoring import AXES, COMPONENTS
from fleetloop.scorer.solve import CaseResult, SearchConfig, solve
from fleetloop.scorer.triggers import TIERS

LABELS = {
    "nc": "no at-fault collision (NC)", "dac": "drivable area (DAC)", "ep": "ego progress (EP)",
    "ttc": "time to collision (TTC)", "c": "comfort (C)", "ddc": "driving direction (DDC)",
    "lk": "lane keeping (LK)", "slc": "speed limit (SLC)", "tlc": "traffic lights (TLC)", "pdms": "PDMS",
    "safety": "axis: safety", "efficiency": "axis: efficiency", "comfort": "axis: comfort",
    "compliance": "axis: compliance",
    "progress_m": "progress (m)",
}


def register(subparsers) -> None:
    p = subparsers.add_parser("replay", help="counterfactual replay of one case: score table of log vs solution",
                              epilog="examples:\n  fleetloop replay --case CASE_ID\n"
                                     "  fleetloop replay --reactive --commonroad "
                                     "tests/data/commonroad/more/ZAM_Tutorial-1_2_T-1.xml")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--commonroad", type=Path, metavar="FILE",
                     help="CommonRoad XML scenario (this or --case is required)")
    src.add_argument("--case", metavar="CASE_ID",
                     help="case id from ads.ads_case_queue (this or --commonroad is required)")
    p.add_argument("--ego-id", type=int,
                   help="CommonRoad obstacle id to use as the ego (default: of the vehicles recorded for the whole "
                        "horizon, the one with the most neighbours)")
    p.add_argument("--warehouse", type=Path, metavar="FILE",
                   help="DuckDB warehouse file for --case (default: the working warehouse, which keeps the raw pose)")
    p.add_argument("--seed", type=int, default=0, help="seed of the candidate search (same seed, same result)")
    p.add_argument("--reactive", action="store_true", help="agents following the ego react (IDM)")
    p.add_argument("--package-out", type=Path, metavar="FILE",
                   help="write the ScenarioSolutionPair here (default: not written)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.commonroad is not None:
        from fleetloop.scorer.commonroad_scene import load_commonroad

        scene = load_commonroad(args.commonroad, ego_id=args.ego_id)
    else:
        from fleetloop.scorer.warehouse_scene import load_case
        from fleetloop.warehouse import connect

        warehouse = args.warehouse or args.settings.warehouse
        if not warehouse.is_file():
            raise FileNotFoundError(f"no warehouse at {warehouse}: run `fleetloop demo` or give --warehouse FILE")
        with connect(warehouse, args.settings, read_only=True) as con:
            scene = load_case(con, args.case)
    result = solve(scene, SearchConfig(seed=args.seed, reactive=args.reactive))
    print(render(result))
    blob = package.encode(package.build(result))
    raw = scene.metadata.get("raw_bytes")
    ratio = f", {raw / len(blob):.1f}:1 against {raw} bytes of raw log" if raw else ""
    print(f"package (ScenarioSolutionPair): {len(blob)} bytes{ratio}")
    if args.package_out is not None:
        args.package_out.parent.mkdir(parents=True, exist_ok=True)
        args.package_out.write_bytes(blob)
        print(f"written to {args.package_out}")
    return 0


def render(result: CaseResult) -> str:
    """The score table of log vs solution, component by component, and what the search found."""
    log, sol = result.log_scores, result.solution_scores
    lines = [f"scene {result.scene.scene_id} ({result.scene.source}), ego {result.scene.ego.vehicle_class}, "
             f"{result.scene.steps * result.scene.dt_s:.1f} s horizon, {len(result.scene.agent_ids)} agents"]
    c = result.counts()
    lines.append(f"candidates {c['candidates']} (feasible {c['feasible']}, pruned {c['pruned']}), "
                 f"improving {c['improving']}, Pareto front {c['pareto_front']}, "
                 f"{result.timings_s['total']:.3f} s")
    lines.append(f"{'component':30s} {'log':>8s} {'solution':>9s} {'delta':>8s}")
    for k in COMPONENTS + ("pdms",) + AXES + ("progress_m",):
        s = "" if sol is None else f"{sol[k]:9.3f}"
        d = "" if sol is None else f"{sol[k] - log[k]:+8.3f}"
        lines.append(f"{LABELS[k]:30s} {log[k]:8.3f} {s:>9s} {d:>8s}")
    for k in ("hard_brake_tier", "weaving"):
        fmt = (lambda v: TIERS[int(v)]) if k == "hard_brake_tier" else (lambda v: "fired" if v else "no")
        lines.append(f"{'trigger ' + k:30s} {fmt(log[k]):>8s} {'' if sol is None else fmt(sol[k]):>9s}")
    if sol is None:
        lines.append("no candidate beats the log: no improvement claimed")
        return "\n".join(lines)
    names = ("d_target_m", "v_target_mps", "a_max_mps2", "b_comf_mps2", "t_lat_s")
    params = ", ".join(f"{n}={v:.2f}" for n, v in zip(names, result.theta[result.chosen], strict=True))
    lines.append(f"solution: {params}")
    for p in result.decision_points():
        lines.append(f"  {p['kind']} at t={p['t_s']:.1f} s ({p['x_m']:.1f}, {p['y_m']:.1f}): {p['detail']}")
    if result.robustness:
        r = result.robustness
        lines.append(f"robustness over {r['variants']} what-if variants: collision-free "
                     f"{r['collision_free_share']:.0%}, better than the log {r['better_share']:.0%}")
    return "\n".join(lines)
