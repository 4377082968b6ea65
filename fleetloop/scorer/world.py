"""A scene prepared for search and scoring: reference path, corridor, agents as arrays, trajectory batches."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fleetloop.definitions import trigger_params
from fleetloop.scorer.frenet import Corridor, RefPath, reference_path
from fleetloop.scorer.scene import EgoSpec, Scene
from fleetloop.scorer.stop_lines import StopLine, stop_lines


@dataclass
class TrajBatch:
    """N ego trajectories over T+1 samples: arrays (N, T+1) in the world frame and the Frenet frame.

    ``acc``/``yaw_rate``: optional measured or planned series used by the trigger check.
    """

    x: np.ndarray
    y: np.ndarray
    h: np.ndarray
    v: np.ndarray
    s: np.ndarray
    d: np.ndarray
    acc: np.ndarray | None = None
    yaw_rate: np.ndarray | None = None

    def __len__(self) -> int:
        return self.x.shape[0]

    def take(self, idx) -> TrajBatch:
        """A sub-batch (idx: index array or boolean mask)."""
        return TrajBatch(**{k: (None if v is None else v[idx]) for k, v in vars(self).items()})

    def states(self) -> np.ndarray:
        """(N, T+1, 4) columns x, y, heading, speed."""
        return np.stack([self.x, self.y, self.h, self.v], axis=-1)

    @staticmethod
    def concat(batches: list[TrajBatch]) -> TrajBatch:
        out = {}
        for k in vars(batches[0]):
            vals = [getattr(b, k) for b in batches]
            out[k] = None if any(v is None for v in vals) else np.concatenate(vals, axis=0)
        return TrajBatch(**out)


@dataclass
class Agents:
    """Agents as arrays (Na, A, T+1): Na = 1 for log replay (shared by all candidates) or N (per candidate)."""

    x: np.ndarray
    y: np.ndarray
    h: np.ndarray
    v: np.ndarray
    valid: np.ndarray
    length: np.ndarray  # (A,)
    width: np.ndarray  # (A,)
    static: np.ndarray  # (A,) bool

    @classmethod
    def from_states(cls, states: np.ndarray, length, width, static) -> Agents:
        st = np.asarray(states, dtype=float)
        valid = np.all(np.isfinite(st), axis=-1)
        st = np.where(valid[..., None], st, 0.0)
        return cls(st[None, ..., 0], st[None, ..., 1], st[None, ..., 2], st[None, ..., 3], valid[None],
                   np.asarray(length, float), np.asarray(width, float), np.asarray(static, bool))

    def __len__(self) -> int:
        return self.x.shape[1]

    def take(self, idx) -> Agents:
        """Per-candidate agents of a sub-batch of candidates."""
        return replace(self, x=self.x[idx], y=self.y[idx], h=self.h[idx], v=self.v[idx], valid=self.valid[idx])

    def states(self) -> np.ndarray:
        """(Na, A, T+1, 4) with NaN where absent."""
        st = np.stack([self.x, self.y, self.h, self.v], axis=-1)
        return np.where(self.valid[..., None], st, np.nan)


@dataclass
class World:
    scene: Scene
    ref: RefPath
    corridor: Corridor
    agents: Agents
    agent_s: np.ndarray  # (A, T+1) Frenet s of the log-replayed agents
    agent_d: np.ndarray
    log: TrajBatch
    hard_brake: dict[str, float]
    weaving: dict[str, float]
    stop_lines: tuple[StopLine, ...] = ()

    @property
    def ego(self) -> EgoSpec:
        return self.scene.ego

    @property
    def dt(self) -> float:
        return self.scene.dt_s

    @property
    def steps(self) -> int:
        return self.scene.steps

    def without_agents(self, mask: np.ndarray) -> World:
        """The same scene without the agents in ``mask`` (they are simulated separately)."""
        keep = ~np.asarray(mask, dtype=bool)
        a = self.agents
        agents = Agents(a.x[:, keep], a.y[:, keep], a.h[:, keep], a.v[:, keep], a.valid[:, keep],
                        a.length[keep], a.width[keep], a.static[keep])
        return replace(self, agents=agents, agent_s=self.agent_s[keep], agent_d=self.agent_d[keep])


def prepare(scene: Scene) -> World:
    """Build the reference path, corridor, agent arrays and the log as a trajectory batch."""
    ref = reference_path(scene)
    corridor = Corridor.build(ref, scene.lanes)
    _, x, y, h, v = scene.ego_log.T
    s, d = ref.project(x, y)
    log = TrajBatch(x[None], y[None], np.unwrap(h)[None], v[None], s[None], d[None],
                    acc=_signal(scene, "acc_lon_mps2"), yaw_rate=_signal(scene, "yaw_rate_rps"))
    agents = Agents.from_states(scene.agent_states, scene.agent_length_m, scene.agent_width_m, scene.agent_is_static)
    a_s, a_d = ref.project(agents.x[0], agents.y[0])
    return World(
        scene=scene, ref=ref, corridor=corridor, agents=agents,
        agent_s=np.where(agents.valid[0], a_s, np.nan), agent_d=np.where(agents.valid[0], a_d, np.nan),
        log=log,
        hard_brake=trigger_params("hard_brake", scene.ego.vehicle_class),
        weaving=trigger_params("weaving", scene.ego.vehicle_class),
        stop_lines=stop_lines(scene),
    )


def _signal(scene: Scene, name: str) -> np.ndarray | None:
    sig = scene.ego_signals.get(name)
    if sig is None:
        return None
    sig = np.asarray(sig, dtype=float)
    return None if sig.shape != (scene.steps + 1,) or not np.all(np.isfinite(sig)) else sig[None]
