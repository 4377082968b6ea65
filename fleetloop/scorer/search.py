"""Candidate ego trajectories: a Frenet lattice, then a cross-entropy refinement around the best.

A candidate is five parameters ``(d_target_m, v_target_mps, a_max_mps2, b_comf_mps2, t_lat_s)``:
laterally a quintic in s from the ego's offset (and heading) to ``d_target`` over ``t_lat_s x max(v0, 3)``
metres; longitudinally an IDM driver (desired speed ``v_target``, acceleration ``a_max``, comfortable
deceleration ``b_comf``) following the nearest agent ahead inside its lateral band, within the ego's
acceleration limits and a jerk limit. All candidates roll out together (arrays (N,) per step).
``track`` re-simulates them as the ego would drive them (NAVSIM's LQR tracker on the kinematic bicycle);
``feasible`` checks a batch against the class limits of ``seeds/vehicle_classes.csv``: rear-axle curvature
within the steering limit, curvature rate, lateral acceleration and the friction circle.
Optionally, agents that follow the ego in its lane react (IDM on the candidate ego).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleetloop.scorer.navsim.bicycle import principal_value
from fleetloop.scorer.navsim.cache import initial_ego_state, scene_vehicle
from fleetloop.scorer.navsim.enums import SE2, STATE_SIZE, StateIndex
from fleetloop.scorer.navsim.simulator import center_to_rear_axle, rear_axle_to_center, simulate
from fleetloop.scorer.navsim.tracker import TrackerConfig
from fleetloop.scorer.navsim.vehicle import VehicleParameters
from fleetloop.scorer.world import Agents, TrajBatch, World

HEADWAY_S = 1.5
MIN_GAP_M = 2.0
IDM_DELTA = 4.0
BAND_MARGIN_M = 0.3
MIN_LAT_DIST_M = 3.0
MAX_JERK_MPS3 = 4.0  # below nuPlan's 4.13 m/s3 longitudinal jerk limit
PARAMS = ("d_target_m", "v_target_mps", "a_max_mps2", "b_comf_mps2", "t_lat_s")
T_LAT_CHOICES_S = (2.0, 4.0)
LATERAL_NUDGES_M = (-1.0, -0.5, 0.5, 1.0)
SPEED_LEVELS = 7
MIN_TRAVEL_M = 0.01  # rear-axle travel per step below which a step has no curvature (under 0.1 m/s at 10 Hz)
LIMIT_TOLERANCE = 1e-9

# the search's tracker solves the curvature fit directly (NAVSIM's pseudo-inverse is for scoring)
SEARCH_TRACKER = TrackerConfig(pseudo_inverse=False)


@dataclass
class Bounds:
    lo: np.ndarray
    hi: np.ndarray

    def clip(self, theta: np.ndarray) -> np.ndarray:
        return np.clip(theta, self.lo, self.hi)


def bounds(world: World) -> Bounds:
    ego = world.ego
    s0 = world.log.s[0, 0]
    i = world.corridor.station(np.asarray(s0))
    same = world.corridor.present[i] & world.corridor.same_dir
    lo = world.corridor.lo[i][same].min() + ego.width_m / 2 if same.any() else -1.0
    hi = world.corridor.hi[i][same].max() - ego.width_m / 2 if same.any() else 1.0
    b_hi = min(ego.max_dec_mps2, 4.0)
    return Bounds(np.array([lo, 0.0, 0.3, 0.5, 1.5]),
                  np.array([max(hi, lo), ego.max_speed_mps, ego.max_acc_mps2, b_hi, 6.0]))


def lattice(world: World) -> np.ndarray:
    """(M, 5) lattice: lateral targets (lane centres and nudges) x lateral durations x target speeds x
    acceleration profiles. Lateral targets off the road at the start are pruned before any rollout."""
    bnd = bounds(world)
    d0 = float(world.log.d[0, 0])
    v0 = float(world.log.v[0, 0])
    s0 = world.log.s[0, 0]
    centres = world.corridor.lane_centres_at(s0)
    own = centres[np.argmin(np.abs(centres - d0))] if len(centres) else 0.0
    targets = np.unique(np.round(np.concatenate([centres, own + np.array(LATERAL_NUDGES_M), [d0]]), 2))
    targets = targets[(targets >= bnd.lo[0] - 1e-9) & (targets <= bnd.hi[0] + 1e-9)]
    if not len(targets):
        targets = np.array([d0])
    lateral = [(d, T_LAT_CHOICES_S[-1]) for d in targets if abs(d - d0) < 0.05]
    lateral += [(d, t) for d in targets if abs(d - d0) >= 0.05 for t in T_LAT_CHOICES_S]
    if not any(abs(d - d0) < 0.05 for d, _ in lateral):
        lateral.append((d0, T_LAT_CHOICES_S[-1]))
    vmax = bnd.hi[1]
    limit = float(np.nanmax(world.corridor.speed_limit))
    speeds = np.unique(np.round(np.concatenate([np.linspace(0.0, vmax, SPEED_LEVELS), [v0, min(limit, vmax)]]), 2))
    speeds = speeds[speeds <= vmax + 1e-9]
    a_hi, b_hi = bnd.hi[2], bnd.hi[3]
    profiles = [(min(0.6, a_hi), min(1.0, b_hi)), (min(1.0, a_hi), min(1.5, b_hi)),
                (min(1.5, a_hi), min(2.5, b_hi)), (a_hi, b_hi)]
    rows = [(d, v, a, b, t) for d, t in lateral for v in speeds for a, b in profiles]
    return np.unique(np.array(rows, dtype=float), axis=0)


def _lateral(s_rel: np.ndarray, d0: float, p0: float, d_t: np.ndarray, length: np.ndarray):
    """Quintic offset and slope dd/ds at s_rel metres from the start."""
    u = np.clip(s_rel / length, 0.0, 1.0)
    blend = 10 * u**3 - 15 * u**4 + 6 * u**5
    blend_du = 30 * u**2 - 60 * u**3 + 30 * u**4
    slope = u - 6 * u**3 + 8 * u**4 - 3 * u**5
    slope_du = 1 - 18 * u**2 + 32 * u**3 - 15 * u**4
    d = d0 + (d_t - d0) * blend + p0 * length * slope
    dd_ds = ((d_t - d0) * blend_du + p0 * length * slope_du) / length
    return d, np.where(u < 1.0, dd_ds, 0.0)


def idm_acc(v, v0, a_max, b, gap, v_lead):
    """IDM acceleration with the improved free-road term (decelerates at b above the desired speed)."""
    ratio_free = np.where(v0 > 1e-6, v / np.maximum(v0, 1e-6), np.inf)
    free_low = a_max * (1 - np.minimum(ratio_free, 1.0) ** IDM_DELTA)
    with np.errstate(divide="ignore", invalid="ignore"):
        free_high = -b * (1 - np.where(v > 1e-6, np.minimum(v0 / np.maximum(v, 1e-6), 1.0), 1.0)
                          ** (a_max * IDM_DELTA / b))
    free = np.where(v <= v0, free_low, free_high)
    s_star = MIN_GAP_M + np.maximum(0.0, v * HEADWAY_S + v * (v - v_lead) / (2 * np.sqrt(a_max * b)))
    inter = np.where(np.isfinite(gap), a_max * (s_star / np.maximum(gap, 0.1)) ** 2, 0.0)
    return free - inter


def rollout(world: World, theta: np.ndarray) -> tuple[TrajBatch, np.ndarray]:
    """Candidates (N, 5) as the ego drives them: their plans tracked (``plan``, ``track``), and which are feasible
    (judged on the tracked trajectories)."""
    traj = track(world, plan(world, theta))
    return traj, feasible(world, traj)


def plan(world: World, theta: np.ndarray) -> TrajBatch:
    """The planned trajectories of candidates (N, 5), rolled out together."""
    ego, dt, steps = world.ego, world.dt, world.steps
    n = len(theta)
    d_t, v_t, a_max, b, t_lat = theta.T
    s0, d0, v0, h0 = (float(world.log.s[0, 0]), float(world.log.d[0, 0]), float(world.log.v[0, 0]),
                      float(world.log.h[0, 0]))
    p0 = float(np.clip(np.tan(np.angle(np.exp(1j * (h0 - world.ref.heading_at(s0))))), -0.5, 0.5))
    length = t_lat * max(v0, MIN_LAT_DIST_M)
    a_s = np.nan_to_num(world.agent_s, nan=-1e9)
    a_d = np.nan_to_num(world.agent_d, nan=1e9)
    a_valid = world.agents.valid[0] & ~followers(world)[:, None]  # agents behind us never lead
    a_v = np.where(a_valid, world.agents.v[0] * np.cos(world.agents.h[0] - world.ref.heading_at(a_s)), 0.0)
    reach = (world.agents.length + ego.length_m) / 2
    band = (world.agents.width + ego.width_m) / 2 + BAND_MARGIN_M
    s_all = np.empty((n, steps + 1))
    v_all = np.empty((n, steps + 1))
    acc_all = np.empty((n, steps + 1))
    s = np.full(n, s0)
    v = np.full(n, v0)
    acc_prev = np.full(n, np.clip((world.log.v[0, 1] - v0) / dt, -ego.max_dec_mps2, ego.max_acc_mps2))
    for t in range(steps + 1):
        s_all[:, t], v_all[:, t] = s, v
        if t == steps:
            acc_all[:, t] = acc_all[:, t - 1]
            break
        d, _ = _lateral(s - s0, d0, p0, d_t, length)
        if len(reach):
            gap = a_s[:, t] - s[:, None] - reach
            lead = a_valid[:, t] & (a_s[:, t] > s[:, None]) & (np.abs(a_d[:, t] - d[:, None]) < band)
            gap = np.where(lead, gap, np.inf)
            j = np.argmin(gap, axis=1)
            g = gap[np.arange(n), j]
            vl = np.maximum(a_v[j, t], 0.0)
        else:
            g, vl = np.full(n, np.inf), np.zeros(n)
        acc = np.clip(idm_acc(v, v_t, a_max, b, g, vl), -ego.max_dec_mps2, ego.max_acc_mps2)
        acc = np.clip(acc, acc_prev - MAX_JERK_MPS3 * dt, acc_prev + MAX_JERK_MPS3 * dt)
        acc = np.maximum(acc, -v / dt)
        acc_prev = acc
        acc_all[:, t] = acc
        v_new = np.minimum(v + acc * dt, ego.max_speed_mps)
        s = s + (v + v_new) / 2 * dt
        v = v_new
    d, slope = _lateral(s_all - s0, d0, p0, d_t[:, None], length[:, None])
    h = world.ref.heading_at(s_all) + np.arctan(slope)
    x, y = world.ref.to_xy(s_all, d)
    return TrajBatch(x, y, h, v_all, s_all, d, acc=acc_all)


def _rear_axle_steps(traj: TrajBatch, vehicle: VehicleParameters) -> tuple[np.ndarray, np.ndarray]:
    """Per step (N, T): the rear axle's travel [m] and heading change [rad] (box centres to rear axles)."""
    poses = center_to_rear_axle(np.stack([traj.x, traj.y, traj.h], axis=-1), vehicle)
    step = np.diff(poses, axis=1)
    return np.hypot(step[..., 0], step[..., 1]), principal_value(step[..., 2])


def _curvature_1pm(travel_m: np.ndarray, turn_rad: np.ndarray) -> np.ndarray:
    return np.where(travel_m > MIN_TRAVEL_M, turn_rad / np.maximum(travel_m, MIN_TRAVEL_M), 0.0)


def violations(world: World, traj: TrajBatch) -> dict[str, np.ndarray]:
    """Which class limits each trajectory (N,) exceeds at some step of its rear-axle path: ``curvature`` (beyond
    tan(max_steer) / wheelbase), ``curvature_rate`` (between moving steps), ``lat_acc`` (v^2 kappa = v x yaw
    rate, v the larger speed of the step) and ``friction_circle`` (sqrt(a_lon^2 + a_lat^2))."""
    ego, dt = world.ego, world.dt
    travel_m, turn_rad = _rear_axle_steps(traj, scene_vehicle(world.scene))
    kappa_1pm = _curvature_1pm(travel_m, turn_rad)
    moving = travel_m > MIN_TRAVEL_M
    rate_1pms = np.where(moving[:, 1:] & moving[:, :-1], np.diff(kappa_1pm, axis=1) / dt, 0.0)
    lat_mps2 = np.maximum(np.abs(traj.v[:, 1:]), np.abs(traj.v[:, :-1])) * np.abs(turn_rad) / dt
    lon_mps2 = np.diff(traj.v, axis=1) / dt
    tol = LIMIT_TOLERANCE
    return {
        "curvature": (np.abs(kappa_1pm) > ego.max_curvature_1pm + tol).any(axis=1),
        "curvature_rate": (np.abs(rate_1pms) > ego.max_curvature_rate_1pms + tol).any(axis=1),
        "lat_acc": (lat_mps2 > ego.max_lat_acc_mps2 + tol).any(axis=1),
        "friction_circle": (np.hypot(lon_mps2, lat_mps2) > ego.max_combined_acc_mps2 + tol).any(axis=1),
    }


def feasible(world: World, traj: TrajBatch) -> np.ndarray:
    """Trajectories (N,) within every class limit of ``violations``."""
    return ~np.any(list(violations(world, traj).values()), axis=0)


def initial_state(world: World, vehicle: VehicleParameters) -> np.ndarray:
    """(11,) rear-axle state of the logged ego at t = 0 (``navsim.cache.initial_ego_state``), its first-step
    acceleration within the class limits (as the rollout starts) and its steering angle from the curvature of
    the log's first step."""
    ego = world.ego
    state = initial_ego_state(world.scene, vehicle)
    state[StateIndex.ACCELERATION_X] = np.clip(state[StateIndex.ACCELERATION_X], -ego.max_dec_mps2, ego.max_acc_mps2)
    kappa_1pm = _curvature_1pm(*_rear_axle_steps(world.log.take(slice(0, 1)), vehicle))[0, 0]
    state[StateIndex.STEERING_ANGLE] = np.clip(np.arctan(ego.wheelbase_m * kappa_1pm), -ego.max_steer_rad,
                                               ego.max_steer_rad)
    return state


def track(world: World, proposals: TrajBatch) -> TrajBatch:
    """The proposals as the ego drives them: NAVSIM's LQR tracker on the kinematic bicycle follows each one's
    poses (box centre to rear axle, half a wheelbase behind) from the logged initial state. Poses come back at
    the box centre (heading unwrapped from the log's), speed and acceleration are the simulated longitudinal
    ones, s and d are projected again."""
    vehicle = scene_vehicle(world.scene)
    poses = center_to_rear_axle(np.stack([proposals.x, proposals.y, proposals.h], axis=-1), vehicle)
    reference = np.zeros(poses.shape[:2] + (STATE_SIZE,))
    reference[..., SE2] = poses
    states = simulate(reference, initial_state(world, vehicle), vehicle, world.dt, SEARCH_TRACKER)
    x, y, h = np.moveaxis(rear_axle_to_center(states[..., SE2], vehicle), -1, 0)
    s, d = world.ref.project(x, y)
    return TrajBatch(x, y, np.unwrap(h, axis=1), states[..., StateIndex.VELOCITY_X], s, d,
                     acc=states[..., StateIndex.ACCELERATION_X])


def followers(world: World) -> np.ndarray:
    """Agents that start behind the ego in its lateral band, moving the same way: candidates for IDM reaction."""
    s0, d0 = world.log.s[0, 0], world.log.d[0, 0]
    a = world.agents
    if not len(a):
        return np.zeros(0, dtype=bool)
    same_way = np.cos(a.h[0, :, 0] - world.ref.heading_at(np.nan_to_num(world.agent_s[:, 0]))) > 0.7
    band = (a.width + world.ego.width_m) / 2 + BAND_MARGIN_M
    return (a.valid[0, :, 0] & (world.agent_s[:, 0] < s0) & (np.abs(world.agent_d[:, 0] - d0) < band)
            & same_way & ~a.static)


def react(world: World, traj: TrajBatch, mask: np.ndarray) -> Agents:
    """Per-candidate tracks (N, F, T+1) of the agents in ``mask``: each keeps its logged speed profile
    but brakes as IDM demands when the candidate ego is ahead of it in its band."""
    a = world.agents
    idx = np.nonzero(mask)[0]
    n, steps, dt = len(traj), world.steps, world.dt
    f = len(idx)
    s_log = world.agent_s[idx]
    d_log = world.agent_d[idx]
    v_log = a.v[0, idx]
    valid = a.valid[0, idx]
    acc_log = np.diff(v_log, axis=1) / dt
    v_des = np.nanmax(np.where(valid, v_log, np.nan), axis=1)
    reach = (a.length[idx] + world.ego.length_m) / 2
    band = (a.width[idx] + world.ego.width_m) / 2 + BAND_MARGIN_M
    s = np.broadcast_to(s_log[:, 0], (n, f)).copy()
    v = np.broadcast_to(v_log[:, 0], (n, f)).copy()
    s_out = np.empty((n, f, steps + 1))
    v_out = np.empty((n, f, steps + 1))
    for t in range(steps + 1):
        s_out[:, :, t], v_out[:, :, t] = s, v
        if t == steps:
            break
        ego_s, ego_d = traj.s[:, t][:, None], traj.d[:, t][:, None]
        lead = (ego_s > s) & (np.abs(ego_d - np.nan_to_num(d_log[:, t])) < band)
        gap = np.where(lead, ego_s - s - reach, np.inf)
        acc_idm = idm_acc(v, v_des, 1.5, 2.0, gap, traj.v[:, t][:, None])
        acc = np.minimum(np.nan_to_num(acc_log[:, t]), acc_idm)
        acc = np.clip(acc, -7.0, 3.0)
        v_new = np.maximum(v + acc * dt, 0.0)
        s = s + (v + v_new) / 2 * dt
        v = v_new
    d = np.broadcast_to(np.nan_to_num(d_log), s_out.shape)
    x, y = world.ref.to_xy(s_out, d)
    h = np.broadcast_to(np.where(valid, a.h[0, idx], 0.0), s_out.shape)
    val = np.broadcast_to(valid, s_out.shape)
    return Agents(x, y, h, v_out, val, a.length[idx], a.width[idx], a.static[idx])


def cem_sample(rng: np.random.Generator, elite: np.ndarray, bnd: Bounds, count: int) -> np.ndarray:
    """New parameter vectors from a Gaussian fitted to the elite (std floored at 5% of the range)."""
    span = bnd.hi - bnd.lo
    mean = elite.mean(axis=0)
    std = np.maximum(elite.std(axis=0), 0.05 * span)
    return bnd.clip(mean + rng.standard_normal((count, len(mean))) * std)
