"""NAVSIM's batch LQR tracker: decoupled longitudinal and lateral one-step LQR over a lookahead horizon.

Speed and curvature references come from a regularised least-squares fit to the proposal's poses (fitted once
per proposal). Near a standstill a proportional speed controller replaces the LQR and the steering rate is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleetloop.scorer.navsim.enums import SE2, DynamicStateIndex, StateIndex
from fleetloop.scorer.navsim.path import normalize_angle
from fleetloop.scorer.navsim.vehicle import PACIFICA

# Small weight on the initial curvature so the curvature fit stays unique when the fitted speed is zero.
INITIAL_CURVATURE_PENALTY = 1e-10


@dataclass(frozen=True)
class TrackerConfig:
    """NAVSIM's ``BatchLQRTracker`` defaults. The wheelbase is the tracker's own (NAVSIM never sets it from
    the ego, so it stays the Pacifica's); ``simulate`` overrides ``discretization_s`` with its step."""

    q_longitudinal: float = 10.0
    r_longitudinal: float = 1.0
    q_lateral: tuple[float, float, float] = (1.0, 10.0, 0.0)  # lateral error, heading error, steering angle
    r_lateral: float = 1.0
    discretization_s: float = 0.1
    tracking_horizon: int = 10
    jerk_penalty: float = 1e-4
    curvature_rate_penalty: float = 1e-2
    stopping_gain: float = 0.5
    stopping_speed_mps: float = 0.2
    wheelbase_m: float = PACIFICA["wheelbase_m"]
    # NAVSIM fits the curvature profile with a pseudo-inverse per proposal; False solves the same regularised
    # normal equations directly (equal to rounding, an order of magnitude faster: the search uses it)
    pseudo_inverse: bool = True


def _integration_matrix(num_values: int, dt_s: float) -> np.ndarray:
    """(M, M) map from (initial value, M-1 rates) to the per-step increments value_k * dt_s."""
    matrix = np.tril(np.full((num_values, num_values), dt_s**2))
    matrix[:, 0] = dt_s
    return matrix


def _jerk_regulariser(num_values: int) -> np.ndarray:
    """(M, M) R^T R of NAVSIM's jerk term over (v_0, a_0 .. a_{M-2}).

    NAVSIM writes +I and then -I into overlapping column blocks of its difference matrix, so the -I overwrites
    every +1 but the last: the term penalises a_0 .. a_{M-4} themselves and only the last pair by their
    difference (nuPlan's non-batch tracker penalises every a_{k+1} - a_k).
    """
    r = np.zeros((num_values - 2, num_values))
    rows = np.arange(num_values - 2)
    r[rows, rows + 1] = -1.0
    r[-1, -1] = 1.0
    return r.T @ r


def _integrate(initial: np.ndarray, rates: np.ndarray, dt_s: float) -> np.ndarray:
    """(N, M) profile: the initial value followed by the cumulative sum of rates * dt_s."""
    steps = np.zeros((rates.shape[0], rates.shape[1] + 1))
    np.cumsum(rates * dt_s, axis=-1, out=steps[:, 1:])  # into a zero first column: np.pad costs more than the sum
    return initial[:, None] + steps


def speed_curvature_profiles(
    poses: np.ndarray, dt_s: float, jerk_penalty: float, curvature_rate_penalty: float, pseudo_inverse: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Speed (N, T) and curvature (N, T) fitted to (N, T+1, 3) poses sampled every dt_s.

    Speed: least squares of the xy displacements on v_k * dt * (cos, sin)(heading_k), unknowns v_0 and T-1
    accelerations, with NAVSIM's jerk term. Curvature: least squares of the heading displacements on
    v_k * kappa_k * dt, unknowns kappa_0 and T-1 curvature rates, curvature rate penalised.
    """
    displacements = np.diff(poses, axis=1)
    headings = poses[:, :-1, StateIndex.HEADING]
    num_steps = displacements.shape[1]
    integration = _integration_matrix(num_steps, dt_s)

    # Each displacement's design rows are the unit heading vector times one row of the integration matrix,
    # so the normal matrix is the same for every proposal and the data enter as along-heading projections.
    along_heading_m = displacements[..., 0] * np.cos(headings) + displacements[..., 1] * np.sin(headings)
    speed_normal = integration.T @ integration + jerk_penalty * _jerk_regulariser(num_steps)
    speed_solution = along_heading_m @ integration @ np.linalg.pinv(speed_normal).T
    speed_mps = _integrate(speed_solution[:, 0], speed_solution[:, 1:], dt_s)

    design_t = (speed_mps[:, :, None] * integration).transpose(0, 2, 1)
    regularisation = curvature_rate_penalty * np.eye(num_steps)
    regularisation[0, 0] = INITIAL_CURVATURE_PENALTY
    curvature_normal = design_t @ design_t.transpose(0, 2, 1) + regularisation
    heading_steps = normalize_angle(displacements[..., StateIndex.HEADING])
    rhs = design_t @ heading_steps[..., None]
    if pseudo_inverse:
        curvature_solution = (np.linalg.pinv(curvature_normal) @ rhs)[..., 0]
    else:
        curvature_solution = np.linalg.solve(curvature_normal, rhs)[..., 0]
    curvature_1pm = _integrate(curvature_solution[:, 0], curvature_solution[:, 1:], dt_s)
    return speed_mps, curvature_1pm


class LQRTracker:
    """Tracks (N, T+1, 11) proposal states; ``command`` gives (N, 2) acceleration and steering rate."""

    def __init__(self, proposal_states: np.ndarray, config: TrackerConfig):
        self.config = config
        self.reference_poses = proposal_states[:, :, SE2]
        self.speed_mps, self.curvature_1pm = speed_curvature_profiles(
            self.reference_poses, config.discretization_s, config.jerk_penalty, config.curvature_rate_penalty,
            config.pseudo_inverse,
        )

    def _references(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Speed at the lookahead step (N,) and curvature over the horizon (N, H), held at the profile end."""
        horizon = self.config.tracking_horizon
        last = self.speed_mps.shape[1] - 1
        speed_mps = self.speed_mps[:, min(step + horizon, last)]
        curvature_1pm = self.curvature_1pm[:, np.minimum(step + np.arange(horizon), last)]
        return speed_mps, curvature_1pm

    def _steering_rate(
        self, lateral_state: np.ndarray, speed_mps: np.ndarray, curvature_1pm: np.ndarray
    ) -> np.ndarray:
        """One-step lateral LQR on the Euler-discretised error dynamics composed over the horizon."""
        cfg = self.config
        dt_s, wheelbase_m = cfg.discretization_s, cfg.wheelbase_m
        # (2, 3, N): the free response (lateral error, heading error, steering angle) and the response to a unit
        # steering rate held over the horizon, stepped together (the same operations on each, in the same order)
        responses = np.stack([lateral_state.T, np.zeros_like(lateral_state.T)])
        error, gain = responses
        for k in range(cfg.tracking_horizon):
            v_dt = speed_mps[:, k] * dt_s
            responses[:, 0] += v_dt * responses[:, 1]
            responses[:, 1] += v_dt / wheelbase_m * responses[:, 2]
            error[1] -= v_dt * curvature_1pm[:, k]
            gain[2] += dt_s
        error[1:] = normalize_angle(error[1:])
        q = np.asarray(cfg.q_lateral)[:, None]
        return -np.sum(gain * q * error, axis=0) / (np.sum(gain * q * gain, axis=0) + cfg.r_lateral)

    def command(self, step: int, states: np.ndarray) -> np.ndarray:
        """(N, 2) commands for the (N, 11) current states at time index ``step`` of the proposals."""
        cfg = self.config
        reference = self.reference_poses[:, step]
        dx_m = states[:, StateIndex.X] - reference[:, StateIndex.X]
        dy_m = states[:, StateIndex.Y] - reference[:, StateIndex.Y]
        heading_ref = reference[:, StateIndex.HEADING]
        lateral_state = np.stack(
            [
                -dx_m * np.sin(heading_ref) + dy_m * np.cos(heading_ref),
                normalize_angle(states[:, StateIndex.HEADING] - heading_ref),
                states[:, StateIndex.STEERING_ANGLE],
            ],
            axis=-1,
        )
        speed_mps = states[:, StateIndex.VELOCITY_X]
        speed_ref_mps, curvature_1pm = self._references(step)

        # Longitudinal LQR: the acceleration is held over the horizon, so v_H = v_0 + H * dt * a.
        lookahead_s = cfg.tracking_horizon * cfg.discretization_s
        speed_gain = (
            lookahead_s
            * cfg.q_longitudinal
            / (lookahead_s * cfg.q_longitudinal * lookahead_s + cfg.r_longitudinal)
        )
        lqr_acc_mps2 = -speed_gain * (speed_mps - speed_ref_mps)
        held_acc_mps2 = np.repeat(lqr_acc_mps2[:, None], cfg.tracking_horizon, axis=1)
        horizon_speed_mps = _integrate(speed_mps, held_acc_mps2, cfg.discretization_s)
        lqr_steering_rate_rps = self._steering_rate(
            lateral_state, horizon_speed_mps[:, : cfg.tracking_horizon], curvature_1pm
        )

        stopping = (speed_ref_mps <= cfg.stopping_speed_mps) & (speed_mps <= cfg.stopping_speed_mps)
        commands = np.empty((len(states), len(DynamicStateIndex)))
        commands[:, DynamicStateIndex.ACCELERATION_X] = np.where(
            stopping, -cfg.stopping_gain * (speed_mps - speed_ref_mps), lqr_acc_mps2
        )
        commands[:, DynamicStateIndex.STEERING_RATE] = np.where(stopping, 0.0, lqr_steering_rate_rps)
        return commands
