"""NAVSIM v1.1's ``pdm_score`` of one trajectory in one scene.

The trajectory (box-centre or rear-axle poses after t = 0) and PDM-Closed's trajectory are interpolated on
the 4 s, 10 Hz grid (the trajectory from the logged initial ego state, PDM-Closed's from its own first pose),
re-simulated together by the LQR tracker on the
kinematic bicycle, and scored as one batch: the trajectory's EP is its progress over the better of the two.
"""

from __future__ import annotations

import numpy as np

from fleetloop.scorer.navsim.cache import DT_S, MetricCache
from fleetloop.scorer.navsim.scorer import PDMResult, PDMScorer, PDMScorerConfig
from fleetloop.scorer.navsim.simulator import center_to_rear_axle, simulate, trajectory_states

PDM_CLOSED, TRAJECTORY = 0, 1


def score_states(cache: MetricCache, proposals: np.ndarray, config: PDMScorerConfig | None = None) -> PDMResult:
    """Simulate and score (N, 41, 11) proposal states in the cache's scene as one batch."""
    simulated = simulate(proposals, cache.ego_state, cache.vehicle, DT_S)
    scorer = PDMScorer(cache.vehicle, DT_S, config)
    return scorer.score_proposals(simulated, cache.observation, cache.centerline, cache.route_lane_ids,
                                  cache.drivable_map)


def pdm_score(cache: MetricCache, poses: np.ndarray, t_s: np.ndarray, rear_axle: bool = False,
              config: PDMScorerConfig | None = None) -> dict[str, float]:
    """NAVSIM's PDMResults of one trajectory: poses (K, 3) x, y, heading at times t_s (K,) > 0 after the
    initial state, box centres unless ``rear_axle``."""
    if cache.pdm_closed_states is None:
        raise ValueError("the metric cache has no PDM-Closed trajectory (EP needs it)")
    poses = np.asarray(poses, dtype=float)
    if not rear_axle:
        poses = center_to_rear_axle(poses, cache.vehicle)
    horizon_s = cache.steps * DT_S
    pred = trajectory_states(cache.ego_state, poses, t_s, horizon_s, DT_S)
    pdm = cache.pdm_closed_states
    ref = trajectory_states(pdm[0], pdm[1:, :3], np.arange(1, len(pdm)) * DT_S, horizon_s, DT_S)
    result = score_states(cache, np.stack([ref, pred]), config)
    out = result.components(TRAJECTORY)
    out["horizon_s"] = horizon_s
    out["pdm_closed_score"] = float(result.scores[PDM_CLOSED])
    out["progress_m"] = float(result.progress_raw_m[TRAJECTORY])
    out["pdm_closed_progress_m"] = float(result.progress_raw_m[PDM_CLOSED])
    return out
