"""NAVSIM v1.1's PDM-Closed planner as its metric cache runs it once per scene (``PDMClosedPlanner``).

Proposals: the centreline and its parallels at the lateral offsets, each driven by every IDM policy; a
proposal's progress follows its IDM along its path, behind the nearest object (agent, static object or red
light) of the path's corridor ahead of the ego box, re-found every ``leading_agent_update_rate`` steps in the
planner's constant-velocity forecast. The proposals are re-simulated by the LQR tracker on the bicycle model
and scored by the PDM scorer; the best one's IDM rollout goes on to the trajectory horizon and is the
planner's trajectory (v1.1 applies no emergency brake).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from fleetloop.scorer.navsim.cache import DT_S, MAP_RADIUS_M
from fleetloop.scorer.navsim.enums import POINT, SE2, STATE_SIZE, StateIndex
from fleetloop.scorer.navsim.forecast import Detections, forecast_observation
from fleetloop.scorer.navsim.idm import BatchIDMPolicy, IDMConfig, IDMStateIndex, LeadIndex
from fleetloop.scorer.navsim.observation import DrivableMap, Observation, ego_coords, polygons
from fleetloop.scorer.navsim.path import PolylinePath, normalize_angle
from fleetloop.scorer.navsim.scorer import PDMScorer, PDMScorerConfig
from fleetloop.scorer.navsim.simulator import simulate
from fleetloop.scorer.navsim.vehicle import VehicleParameters


@dataclass(frozen=True)
class PDMClosedConfig:
    """The PDM-Closed of NAVSIM's ``MetricCacheProcessor``: 4 s proposals, a 5 s trajectory, 100 m map
    radius."""

    dt_s: float = DT_S
    proposal_steps: int = 40
    trajectory_steps: int = 50
    map_radius_m: float = MAP_RADIUS_M
    lateral_offsets_m: tuple[float, ...] = (-1.0, 1.0)
    observation_sample_res: int = 2
    leading_agent_update_rate: int = 2
    idm: IDMConfig = field(default_factory=IDMConfig)
    scorer: PDMScorerConfig = field(default_factory=PDMScorerConfig)

    @property
    def observation_steps(self) -> int:
        """Forecast horizon: the proposals' plus 1 s (TTC looks ahead), at least the trajectory's."""
        return max(self.proposal_steps + int(1 / self.dt_s), self.trajectory_steps)


def proposal_paths(centerline: PolylinePath, lateral_offsets_m: Sequence[float]) -> list[PolylinePath]:
    """The centreline, then its poses shifted sideways (left positive) by each offset, headings kept."""
    heading = centerline.poses[:, StateIndex.HEADING]
    paths = [centerline]
    for offset_m in lateral_offsets_m:
        poses = centerline.poses.copy()
        poses[:, StateIndex.X] += np.cos(heading + np.pi / 2) * offset_m
        poses[:, StateIndex.Y] += np.sin(heading + np.pi / 2) * offset_m
        paths.append(PolylinePath(poses))
    return paths


def _carried(is_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each row's value where set, else the last set value of the rows before it, else 0.

    NAVSIM fills one lead vector per path and step, proposal after proposal, and never clears it, so a
    proposal that leaves a field unset inherits it from the proposal before."""
    last = np.maximum.accumulate(np.where(is_set, np.arange(len(is_set)), -1))
    return np.where(last >= 0, values[np.maximum(last, 0)], 0.0)


class ProposalUnroller:
    """IDM rollouts of all proposals (path-major, policy-minor, as NAVSIM numbers them) on the trajectory
    grid; only the poses of ``states`` are filled, as in NAVSIM's generator."""

    def __init__(self, initial_state: np.ndarray, vehicle: VehicleParameters, paths: list[PolylinePath],
                 policy: BatchIDMPolicy, observation: Observation, config: PDMClosedConfig):
        self.vehicle, self.paths, self.policy, self.observation, self.config = (
            vehicle, paths, policy, observation, config)
        num_policies = config.idm.num_policies
        self.path_idx = np.repeat(np.arange(len(paths)), num_policies)
        self.policy_idx = np.tile(np.arange(num_policies), len(paths))
        shape = (len(self.path_idx), config.trajectory_steps + 1)
        self.states = np.zeros(shape + (STATE_SIZE,))
        self.idm_states = np.zeros(shape + (len(IDMStateIndex),))
        self.leads = np.zeros(shape + (len(LeadIndex),))
        self.corridors = []
        reach_m = abs(policy.max_target_velocity_mps) * config.trajectory_steps * config.dt_s
        for i, path in enumerate(paths):
            rows = self.path_idx == i
            start_m = float(path.project(initial_state[POINT]))
            self.idm_states[rows, 0] = start_m, initial_state[StateIndex.VELOCITY_X]
            self.states[rows, 0, SE2] = path.interpolate(np.array([start_m]))[0]
            corridor = path.substring(start_m, start_m + reach_m)
            self.corridors.append(corridor.buffer(vehicle.width_m / 2, cap_style="square"))

    def unroll(self, proposals: np.ndarray, steps: range) -> None:
        """Steps the (sorted) proposals through the time indices."""
        for t in steps:
            for i in np.unique(self.path_idx[proposals]):
                batch = proposals[self.path_idx[proposals] == i]
                self._update_leads(batch, i, t)
                idm = self.policy.propagate(self.idm_states[batch, t - 1], self.leads[batch, t],
                                            self.policy_idx[batch], self.config.dt_s)
                self.idm_states[batch, t] = idm
                self.states[batch, t, SE2] = self.paths[i].interpolate(idm[:, IDMStateIndex.PROGRESS])

    def _update_leads(self, batch: np.ndarray, path_i: int, t: int) -> None:
        """Leads of proposals sharing a path at step t: held between updates (zeros before the first), else
        the corridor's object nearest the ego box of those projected ahead of the ego, or the path end."""
        if t % self.config.leading_agent_update_rate:
            self.leads[batch, t] = self.leads[batch, t - 1]
            return
        observation, path = self.observation, self.paths[path_i]
        occupancy = observation[t]
        tokens = [tok for tok in occupancy.intersects(self.corridors[path_i])
                  if tok not in observation.collided_track_ids]
        ego_m = self.idm_states[batch, t - 1, IDMStateIndex.PROGRESS]
        ego_heading = self.states[batch, t - 1, StateIndex.HEADING]
        has_lead = sets_velocity = np.zeros(len(batch), dtype=bool)
        lead_m = np.full(len(batch), path.linestring.length)
        lead_mps = np.zeros(len(batch))
        if tokens:
            geometries = np.array([occupancy[tok] for tok in tokens], dtype=object)
            object_m = path.project(shapely.get_coordinates(shapely.centroid(geometries)))
            ahead = object_m[None, :] > ego_m[:, None]
            ego_polygons = polygons(ego_coords(self.states[batch, t - 1][:, None], self.vehicle))[:, 0]
            distance_m = np.where(ahead, shapely.distance(ego_polygons[:, None], geometries[None, :]), np.inf)
            nearest = np.argmin(distance_m, axis=1)
            has_lead = ahead.any(axis=1)
            lead_m = np.where(has_lead, ego_m + distance_m[np.arange(len(batch)), nearest], lead_m)
            objects = [observation.unique_objects.get(tok) for tok in tokens]
            speed_mps = np.array([o.speed_mps if o is not None and o.is_agent else 0.0 for o in objects])
            heading = np.array([o.heading_rad if o is not None else 0.0 for o in objects])
            red = np.array([observation.red_light_token in tok for tok in tokens])
            lead_mps = speed_mps[nearest] * np.cos(normalize_angle(heading[nearest] - ego_heading))
            sets_velocity = has_lead & ~red[nearest]
        self.leads[batch, t, LeadIndex.PROGRESS] = lead_m
        self.leads[batch, t, LeadIndex.VELOCITY] = _carried(sets_velocity, lead_mps)
        half_length_m = np.full(len(batch), self.vehicle.length_m / 2)
        self.leads[batch, t, LeadIndex.LENGTH_REAR] = _carried(~has_lead, half_length_m)


def _on_route(red_lights: Sequence[tuple[str, shapely.Polygon]],
              route_lane_ids: Sequence[str]) -> list[tuple[str, shapely.Polygon]]:
    """The red lights whose lane connector is on the route."""
    route = set(route_lane_ids)
    return [(lane_id, polygon) for lane_id, polygon in red_lights if str(lane_id) in route]


def pdm_closed_proposals(initial_state: np.ndarray, vehicle: VehicleParameters, centerline: PolylinePath,
                         route_lane_ids: Sequence[str], detections: Detections,
                         red_lights: Sequence[tuple[str, shapely.Polygon]], speed_limit_mps: float | None,
                         config: PDMClosedConfig) -> ProposalUnroller:
    """The planner's observation and every proposal unrolled over the proposal horizon (arguments as in
    ``pdm_closed_trajectory``); ``states[:, : proposal_steps + 1]`` are the proposals."""
    red_lights = _on_route(red_lights, route_lane_ids)
    observation = forecast_observation(detections, initial_state, vehicle, red_lights, config)
    unroller = ProposalUnroller(initial_state, vehicle, proposal_paths(centerline, config.lateral_offsets_m),
                                BatchIDMPolicy(config.idm, speed_limit_mps), observation, config)
    unroller.unroll(np.arange(len(unroller.path_idx)), range(1, config.proposal_steps + 1))
    return unroller


def pdm_closed_trajectory(initial_state: np.ndarray, vehicle: VehicleParameters, centerline: PolylinePath,
                          route_lane_ids: Sequence[str], drivable_map: DrivableMap, detections: Detections,
                          red_lights: Sequence[tuple[str, shapely.Polygon]], speed_limit_mps: float | None,
                          config: PDMClosedConfig) -> np.ndarray:
    """(trajectory_steps + 1, 11) PDM-Closed trajectory every dt_s from t = 0: rear-axle poses on the chosen
    proposal's path (row 0 is the ego's projection onto it), velocities and the rest zero, as NAVSIM stores
    it.

    ``initial_state`` is the (11,) rear-axle ego state; ``red_lights`` the (lane-connector id, polygon) of
    red lights (those off the route lanes are ignored); ``speed_limit_mps`` the starting lane's (None: the
    lane has none)."""
    unroller = pdm_closed_proposals(initial_state, vehicle, centerline, route_lane_ids, detections,
                                    red_lights, speed_limit_mps, config)
    proposals = unroller.states[:, : config.proposal_steps + 1]
    simulated = simulate(proposals, initial_state, vehicle, config.dt_s)
    scores = PDMScorer(vehicle, config.dt_s, config.scorer).score_proposals(
        simulated, unroller.observation, centerline, list(route_lane_ids), drivable_map).scores
    best = int(np.argmax(scores))
    unroller.unroll(np.array([best]), range(config.proposal_steps + 1, config.trajectory_steps + 1))
    return unroller.states[best]
