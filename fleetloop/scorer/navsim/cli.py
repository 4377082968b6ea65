"""``fleetloop score``: one trajectory in one CommonRoad scene, scored as NAVSIM v1.1 scores planners."""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from fleetloop.scorer.navsim import cache as metric_cache
from fleetloop.scorer.navsim.cache import DT_S, OBSERVATION_STEPS
from fleetloop.scorer.navsim.pdm_score import pdm_score
from fleetloop.scorer.navsim.reference import with_pdm_closed
from fleetloop.scorer.navsim.vehicle import VehicleParameters

TRAJECTORY_COLUMNS = ("t_s", "x_m", "y_m", "heading_rad", "speed_mps")
METRICS = ("navsim-pdms",)
LABELS = {
    "no_at_fault_collisions": "NC", "drivable_area_compliance": "DAC", "ego_progress": "EP",
    "time_to_collision_within_bound": "TTC", "comfort": "C", "driving_direction_compliance": "DDC (weight 0)",
    "score": "PDMS",
}


def register(subparsers) -> None:
    p = subparsers.add_parser("score", help="score one trajectory in one scene (NAVSIM v1.1 PDMS)",
                              epilog="examples:\n"
                                     "  fleetloop score --json --commonroad "
                                     "tests/data/commonroad/more/ZAM_Tutorial-1_2_T-1.xml\n"
                                     "  fleetloop score --commonroad SCENE.xml --trajectory TRAJ.csv --json")
    p.add_argument("--commonroad", type=Path, required=True, metavar="SCENE.xml",
                   help="CommonRoad XML scenario (required)")
    p.add_argument("--trajectory", type=Path, metavar="TRAJ.csv",
                   help=f"CSV with columns {', '.join(TRAJECTORY_COLUMNS)} at 10 Hz from t = 0 (default: the log)")
    p.add_argument("--ego", type=int, metavar="ID", help="CommonRoad obstacle id of the ego (default: replay's)")
    p.add_argument("--metric", choices=METRICS, default="navsim-pdms", help="the score to compute")
    p.add_argument("--vehicle", choices=("pacifica", "recorded"), default="pacifica",
                   help="ego: nuPlan's Pacifica, as NAVSIM scores (default), or the recorded obstacle's box")
    p.add_argument("--rear-axle", action="store_true", help="trajectory x, y are the rear axle, not the box centre")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def read_trajectory(path: Path) -> np.ndarray:
    """(K, 5) rows of a trajectory CSV, checked: the columns, 10 Hz from t = 0, finite values."""
    if not path.is_file():
        raise FileNotFoundError(f"no trajectory file at {path}")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in TRAJECTORY_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)} "
                             f"(need {', '.join(TRAJECTORY_COLUMNS)})")
        try:
            rows = np.array([[float(r[c]) for c in TRAJECTORY_COLUMNS] for r in reader], dtype=float)
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from None
    if len(rows) < 2:
        raise ValueError(f"{path.name}: a trajectory needs at least two rows")
    if not np.all(np.isfinite(rows)):
        raise ValueError(f"{path.name}: non-finite values")
    if abs(rows[0, 0]) > 1e-6 or np.any(np.abs(np.diff(rows[:, 0]) - DT_S) > 1e-6):
        raise ValueError(f"{path.name}: t_s must run from 0 in steps of {DT_S} s")
    return rows


def run(args: argparse.Namespace) -> int:
    from fleetloop.scorer.commonroad_scene import load_commonroad

    ego_id = args.ego if args.ego is not None else load_commonroad(args.commonroad).metadata["ego_obstacle_id"]
    scene = load_commonroad(args.commonroad, ego_id=ego_id, horizon_s=OBSERVATION_STEPS * DT_S)
    vehicle = VehicleParameters.pacifica() if args.vehicle == "pacifica" else metric_cache.scene_vehicle(scene)
    cache = with_pdm_closed(metric_cache.build(scene, vehicle), scene)
    rows = read_trajectory(args.trajectory) if args.trajectory else scene.ego_log
    result = pdm_score(cache, rows[1:, 1:4], rows[1:, 0], rear_axle=args.rear_axle)
    out = {"scene": scene.scene_id, "metric": args.metric, "vehicle": asdict(vehicle),
           "trajectory": str(args.trajectory) if args.trajectory else "log", **result}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"scene {scene.scene_id}, trajectory {out['trajectory']}, {args.metric}")
    for key, label in LABELS.items():
        print(f"{label:16s} {result[key]:.4f}")
    print(f"{'progress (m)':16s} {result['progress_m']:.2f} (PDM-Closed {result['pdm_closed_progress_m']:.2f})")
    return 0
