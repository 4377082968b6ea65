"""NAVSIM v1.1's PDM scorer (``PDMScorer``), vectorised over proposals.

Multiplicative metrics: no at-fault collision (nuPlan's collision types, from t = 0, with the ignore list of
tracks hit not at fault) and drivable-area compliance (every box corner inside a drivable polygon at every
step). Weighted metrics: ego progress along the centreline (normalised by the best of the batch after the
multiplicative metrics), time to collision (the box projected 0, 0.3, 0.6, 0.9 s ahead at constant
velocity), comfort, and driving-direction compliance (weight 0 in v1.1).
PDMS = NC x DAC x (5 EP + 5 TTC + 2 C) / 12.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from fleetloop.scorer.navsim.comfort import ComfortBounds, comfort_checks
from fleetloop.scorer.navsim.enums import (
    BBCoordsIndex,
    EgoAreaIndex,
    MultiMetricIndex,
    StateIndex,
    WeightedMetricIndex,
)
from fleetloop.scorer.navsim.observation import (
    DRIVABLE_LAYERS,
    LANE_LAYERS,
    DrivableMap,
    MapLayer,
    Observation,
    ego_coords,
    polygons,
)
from fleetloop.scorer.navsim.path import PolylinePath
from fleetloop.scorer.navsim.vehicle import VehicleParameters


@dataclass(frozen=True)
class PDMScorerConfig:
    """Weights and thresholds of the PDM score (NAVSIM v1.1 defaults)."""

    progress_weight: float = 5.0
    ttc_weight: float = 5.0
    comfortable_weight: float = 2.0
    driving_direction_weight: float = 0.0
    driving_direction_horizon_s: float = 1.0
    driving_direction_compliance_threshold_m: float = 2.0
    driving_direction_violation_threshold_m: float = 6.0
    stopped_speed_threshold_mps: float = 5e-03  # TTC: a stopped ego has no time to collision
    progress_distance_threshold_m: float = 5.0
    collision_ego_stopped_mps: float = 5e-02  # collision type: ego at (close to) zero speed
    collision_track_stopped_mps: float = 5e-03  # collision type: track at (close to) zero speed
    agent_ahead_deg: float = 20.0
    agent_behind_deg: float = 150.0
    ttc_future_steps: tuple[int, ...] = (0, 3, 6, 9)
    static_collision_score: float = 0.5
    comfort: ComfortBounds = field(default_factory=ComfortBounds)

    @property
    def weights(self) -> np.ndarray:
        w = np.zeros(len(WeightedMetricIndex))
        w[WeightedMetricIndex.PROGRESS] = self.progress_weight
        w[WeightedMetricIndex.TTC] = self.ttc_weight
        w[WeightedMetricIndex.COMFORTABLE] = self.comfortable_weight
        w[WeightedMetricIndex.DRIVING_DIRECTION] = self.driving_direction_weight
        return w


class CollisionType:
    """nuPlan's collision classes (``collision_utils.CollisionType``)."""

    STOPPED_EGO = 0
    STOPPED_TRACK = 1
    ACTIVE_FRONT = 2
    ACTIVE_REAR = 3
    ACTIVE_LATERAL = 4


@dataclass
class PDMResult:
    """Every proposal's metrics and score, and the step of its first at-fault collision / TTC infraction."""

    multi_metrics: np.ndarray  # (len(MultiMetricIndex), N)
    weighted_metrics: np.ndarray  # (len(WeightedMetricIndex), N)
    progress_raw_m: np.ndarray  # (N,)
    scores: np.ndarray  # (N,)
    collision_step: np.ndarray  # (N,) inf where none
    ttc_step: np.ndarray
    comfort_checks: np.ndarray  # (N, 6)

    def components(self, idx: int) -> dict[str, float]:
        """NAVSIM's PDMResults fields of one proposal."""
        return {
            "no_at_fault_collisions": float(self.multi_metrics[MultiMetricIndex.NO_COLLISION, idx]),
            "drivable_area_compliance": float(self.multi_metrics[MultiMetricIndex.DRIVABLE_AREA, idx]),
            "ego_progress": float(self.weighted_metrics[WeightedMetricIndex.PROGRESS, idx]),
            "time_to_collision_within_bound": float(self.weighted_metrics[WeightedMetricIndex.TTC, idx]),
            "comfort": float(self.weighted_metrics[WeightedMetricIndex.COMFORTABLE, idx]),
            "driving_direction_compliance": float(self.weighted_metrics[WeightedMetricIndex.DRIVING_DIRECTION, idx]),
            "score": float(self.scores[idx]),
        }


def _ignore_matrix(n: int, observation: Observation, tok_idx: dict[str, int]) -> np.ndarray:
    """(N, tokens) tracks each proposal ignores: those touched at the start, then those hit not at fault."""
    ignored = np.zeros((n, len(tok_idx)), dtype=bool)
    for token in observation.collided_track_ids:
        if token in tok_idx:
            ignored[:, tok_idx[token]] = True
    return ignored


def _relative_angle(ego_xy: np.ndarray, ego_heading: np.ndarray, other_xy: np.ndarray) -> np.ndarray:
    """Angle between the ego's heading and the direction to another point (NaN when they coincide)."""
    vec = other_xy - ego_xy
    norm = np.hypot(vec[..., 0], vec[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        dot = (np.cos(ego_heading) * vec[..., 0] + np.sin(ego_heading) * vec[..., 1]) / norm
        return np.arccos(dot)


class PDMScorer:
    """Scores proposals (N, T+1, 11) rear-axle states at a fixed interval, as NAVSIM's PDMScorer does."""

    def __init__(self, vehicle: VehicleParameters, dt_s: float = 0.1, config: PDMScorerConfig | None = None):
        self.vehicle = vehicle
        self.dt_s = dt_s
        self.config = config or PDMScorerConfig()

    def score_proposals(self, states: np.ndarray, observation: Observation, centerline: PolylinePath,
                        route_lane_ids: list[str], drivable_map: DrivableMap) -> PDMResult:
        cfg = self.config
        n = len(states)
        coords = ego_coords(states, self.vehicle)
        ego_polys = polygons(coords)
        areas = self._ego_areas(coords, drivable_map, route_lane_ids)
        tokens = list(observation.unique_objects)
        tok_idx = {t: i for i, t in enumerate(tokens)}
        nc, collision_step = self._no_at_fault_collision(states, coords, ego_polys, areas, observation, tok_idx)
        multi = np.zeros((len(MultiMetricIndex), n))
        multi[MultiMetricIndex.NO_COLLISION] = nc
        multi[MultiMetricIndex.DRIVABLE_AREA] = np.where(
            areas[..., EgoAreaIndex.NON_DRIVABLE_AREA].any(axis=1), 0.0, 1.0)
        weighted = np.zeros((len(WeightedMetricIndex), n))
        weighted[WeightedMetricIndex.DRIVING_DIRECTION] = self._driving_direction(coords, areas)
        centre = coords[:, :, BBCoordsIndex.CENTER]
        progress = centerline.project(centre[:, -1]) - centerline.project(centre[:, 0])
        progress_raw = np.clip(progress, 0.0, None)
        ttc, ttc_step = self._ttc(states, coords, areas, observation, drivable_map, tok_idx)
        weighted[WeightedMetricIndex.TTC] = ttc
        checks = comfort_checks(states, self.dt_s, cfg.comfort)
        weighted[WeightedMetricIndex.COMFORTABLE] = checks.all(axis=-1)
        # aggregate: progress normalised by the best progress of the batch after the multiplicative metrics
        multi_prod = multi.prod(axis=0)
        raw = progress_raw * multi_prod
        best = raw.max() if n else 0.0
        if best > cfg.progress_distance_threshold_m:
            ep = raw / best
        else:
            ep = np.where(multi_prod == 0.0, 0.0, 1.0)
        weighted[WeightedMetricIndex.PROGRESS] = ep
        w = cfg.weights
        scores = multi_prod * (weighted * w[:, None]).sum(axis=0) / w.sum()
        return PDMResult(multi, weighted, progress_raw, scores, collision_step, ttc_step, checks)

    # ------------------------------------------------------------------ areas
    @staticmethod
    def _ego_areas(coords: np.ndarray, dmap: DrivableMap, route_lane_ids: list[str]) -> np.ndarray:
        """(N, T+1, 3) straddling lanes, off the drivable area, centre outside the on-route lanes."""
        inside = dmap.points_in_polygons(coords).transpose(1, 2, 0, 3)  # (N, T+1, P, 5)
        corners, centre = inside[..., :BBCoordsIndex.CENTER], inside[..., BBCoordsIndex.CENTER]
        lanes = dmap.indices_of(LANE_LAYERS)
        drivable = dmap.indices_of(DRIVABLE_LAYERS)
        route = set(route_lane_ids)
        on_route = [i for i in lanes if dmap.tokens[i] in route]
        corners_per_lane = corners[:, :, lanes].sum(axis=-1)  # (N, T+1, lanes)
        multiple = ((corners_per_lane > 0).sum(axis=-1) > 1) & np.all(corners_per_lane != 4, axis=-1)
        off_road = (corners[:, :, drivable].sum(axis=-2) > 0).sum(axis=-1) < 4
        oncoming = centre[..., on_route].sum(axis=-1) == 0
        return np.stack([multiple, off_road, oncoming], axis=-1)

    def _driving_direction(self, coords: np.ndarray, areas: np.ndarray) -> np.ndarray:
        cfg = self.config
        centre = coords[:, :, BBCoordsIndex.CENTER]
        step = np.zeros(centre.shape[:2])
        step[:, 1:] = np.hypot(*(centre[:, 1:] - centre[:, :-1]).transpose(2, 0, 1))
        step[~areas[..., EgoAreaIndex.ONCOMING_TRAFFIC]] = 0.0
        horizon = int(cfg.driving_direction_horizon_s / self.dt_s)
        csum = np.concatenate([np.zeros((len(step), 1)), np.cumsum(step, axis=1)], axis=1)
        t = np.arange(step.shape[1])
        window = csum[:, t + 1] - csum[:, np.maximum(0, t - horizon)]
        worst = window.max(axis=1)
        return np.where(worst < cfg.driving_direction_compliance_threshold_m, 1.0,
                        np.where(worst < cfg.driving_direction_violation_threshold_m, 0.5, 0.0))

    # ------------------------------------------------------------------ collisions
    def _pairs(self, occupancy, geometries: np.ndarray, observation: Observation, tok_idx: dict[str, int]):
        """(proposal, token index, polygon) of intersecting pairs, red lights dropped."""
        hit = occupancy.query(geometries, predicate="intersects")
        if hit.size == 0:
            return None
        tok = np.array([tok_idx.get(occupancy.tokens[g], -1) for g in hit[1]], dtype=np.int64)
        red = np.array([observation.red_light_token in occupancy.tokens[g] for g in hit[1]], dtype=bool)
        keep = ~red & (tok >= 0)
        return hit[0][keep], tok[keep], occupancy.geometries[hit[1][keep]]

    def _no_at_fault_collision(self, states, coords, ego_polys, areas, observation: Observation, tok_idx):
        cfg = self.config
        n, t1 = ego_polys.shape
        nc = np.ones(n)
        first = np.full(n, np.inf)
        ignored = _ignore_matrix(n, observation, tok_idx)
        objects = list(observation.unique_objects.values())
        is_agent = np.array([o.is_agent for o in objects], dtype=bool)
        speed = np.array([o.speed_mps for o in objects])
        for time_idx in range(t1):
            pairs = self._pairs(observation[time_idx], ego_polys[:, time_idx], observation, tok_idx)
            if pairs is None:
                continue
            p, k, geoms = pairs
            live = ~ignored[p, k]
            p, k, geoms = p[live], k[live], geoms[live]
            if not len(p):
                continue
            st = states[p, time_idx]
            ego_speed = np.hypot(st[:, StateIndex.VELOCITY_X], st[:, StateIndex.VELOCITY_Y])
            centroid = shapely.get_coordinates(shapely.centroid(geoms))
            behind = _relative_angle(st[:, :2], st[:, StateIndex.HEADING], centroid) > np.deg2rad(cfg.agent_behind_deg)
            bumper = shapely.linestrings(coords[p, time_idx][:, [BBCoordsIndex.FRONT_LEFT, BBCoordsIndex.FRONT_RIGHT]])
            front = shapely.intersects(bumper, geoms)
            track_stopped = ~is_agent[k] | (speed[k] <= cfg.collision_track_stopped_mps)
            kind = np.select(
                [ego_speed <= cfg.collision_ego_stopped_mps, track_stopped, behind, front],
                [CollisionType.STOPPED_EGO, CollisionType.STOPPED_TRACK, CollisionType.ACTIVE_REAR,
                 CollisionType.ACTIVE_FRONT], CollisionType.ACTIVE_LATERAL)
            straddling = (areas[p, time_idx, EgoAreaIndex.MULTIPLE_LANES]
                          | areas[p, time_idx, EgoAreaIndex.NON_DRIVABLE_AREA])
            at_fault = np.isin(kind, (CollisionType.ACTIVE_FRONT, CollisionType.STOPPED_TRACK)) | (
                straddling & (kind == CollisionType.ACTIVE_LATERAL))
            value = np.where(is_agent[k], 0.0, cfg.static_collision_score)
            np.minimum.at(nc, p[at_fault], value[at_fault])
            first[p[at_fault]] = np.minimum(first[p[at_fault]], time_idx)
            ignored[p[~at_fault], k[~at_fault]] = True
        return nc, first

    def _ttc(self, states, coords, areas, observation: Observation, dmap: DrivableMap, tok_idx):
        cfg = self.config
        n, t1 = states.shape[:2]
        ttc = np.ones(n)
        first = np.full(n, np.inf)
        ignored = _ignore_matrix(n, observation, tok_idx)
        speed = np.hypot(states[..., StateIndex.VELOCITY_X], states[..., StateIndex.VELOCITY_Y])
        heading = states[..., StateIndex.HEADING]
        dxy = np.stack([np.cos(heading) * speed, np.sin(heading) * speed], axis=-1)  # (N, T+1, 2)
        in_intersection = np.zeros((n, t1), dtype=bool)
        if dmap.indices_of((MapLayer.INTERSECTION,)):
            hit = dmap.query(shapely.points(states[..., :2].reshape(-1, 2)), predicate="within")
            inter = np.array([dmap.layers[g] == MapLayer.INTERSECTION for g in hit[1]], dtype=bool)
            in_intersection.reshape(-1)[hit[0][inter]] = True
        straddling = areas[..., EgoAreaIndex.MULTIPLE_LANES] | areas[..., EgoAreaIndex.NON_DRIVABLE_AREA]
        ring = coords.copy()
        ring[:, :, BBCoordsIndex.CENTER] = ring[:, :, BBCoordsIndex.FRONT_LEFT]
        for time_idx in range(t1):
            for future in cfg.ttc_future_steps:
                moved = ring[:, time_idx] + dxy[:, time_idx, None] * (future * self.dt_s)
                pairs = self._pairs(observation[time_idx + future], shapely.polygons(moved), observation, tok_idx)
                if pairs is None:
                    continue
                p, k, geoms = pairs
                live = ~ignored[p, k] & (speed[p, time_idx] >= cfg.stopped_speed_threshold_mps)
                p, k, geoms = p[live], k[live], geoms[live]
                if not len(p):
                    continue
                rear_axle = states[p, time_idx, :2]
                angle = _relative_angle(rear_axle, heading[p, time_idx],
                                        shapely.get_coordinates(shapely.centroid(geoms)))
                ahead = angle < np.deg2rad(cfg.agent_ahead_deg)
                behind = angle > np.deg2rad(cfg.agent_behind_deg)
                risky = ahead | ((straddling[p, time_idx] | in_intersection[p, time_idx]) & ~behind)
                ttc[p[risky]] = 0.0
                first[p[risky]] = np.minimum(first[p[risky]], time_idx)
                ignored[p[~risky], k[~risky]] = True
        return ttc, first
