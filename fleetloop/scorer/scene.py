"""The one scene type that every scorer input (warehouse case, CommonRoad file, hand-built test) becomes.

A scene is a case window cut to the scoring horizon: the ego's initial state and logged trajectory at
10 Hz, the other agents as log-replayed tracks over the same steps, the lanes around the ego (centreline,
bounds, speed limit, successors) and the drivable area (the union of the lane polygons). Everything is in
one metric frame (x east, y north, metres; headings in radians, CCW from east).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fleetloop.definitions import read_seed, vehicle_classes

DT_S = 0.1
HORIZON_S = 8.0
# Object classes that count as static objects for NC (collision scores 0.5 instead of 0).
STATIC_CLASSES = frozenset({"static", "unknown"})


@dataclass(frozen=True)
class EgoSpec:
    """The ego's size and kinematic limits (from ``seeds/vehicle_classes.csv``)."""

    vehicle_class: str
    length_m: float
    width_m: float
    wheelbase_m: float
    max_steer_rad: float
    max_acc_mps2: float
    max_dec_mps2: float
    max_speed_mps: float
    max_lat_acc_mps2: float
    max_combined_acc_mps2: float  # friction circle: sqrt(a_lon^2 + a_lat^2)
    max_curvature_rate_1pms: float

    @property
    def max_curvature_1pm(self) -> float:
        """The tightest rear-axle path the steering allows: tan(max_steer_rad) / wheelbase_m."""
        return float(np.tan(self.max_steer_rad) / self.wheelbase_m)

    @classmethod
    def for_class(cls, vehicle_class: str, **overrides: float) -> EgoSpec:
        row = vehicle_classes().get(vehicle_class)
        if row is None:
            raise KeyError(f"unknown vehicle class {vehicle_class!r} (see seeds/vehicle_classes.csv)")
        values = {
            "length_m": float(row["length_m"]),
            "width_m": float(row["width_m"]),
            "wheelbase_m": float(row["wheelbase_m"]),
            "max_steer_rad": float(row["max_steer_rad"]),
            "max_acc_mps2": float(row["max_acc_mps2"]),
            "max_dec_mps2": float(row["max_dec_mps2"]),
            "max_speed_mps": float(row["max_speed_mps"]),
            "max_lat_acc_mps2": float(row["max_lat_acc_mps2"]),
            "max_combined_acc_mps2": float(row["max_combined_acc_mps2"]),
            "max_curvature_rate_1pms": float(row["max_curvature_rate_1pms"]),
        } | overrides
        return cls(vehicle_class=vehicle_class, **values)


@dataclass(frozen=True)
class SceneLane:
    """One lane: centreline and bounds as (N, 2) arrays in metres, speed limit and its neighbours.

    ``neighbours``: lanes beside it that run the same way (one road section, nuPlan's roadblock);
    ``in_intersection``: the lane crosses a junction (nuPlan's lane connector).
    """

    lane_id: str
    centerline: np.ndarray
    left_bound: np.ndarray
    right_bound: np.ndarray
    speed_limit_mps: float
    successors: tuple[str, ...] = ()
    predecessors: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()
    in_intersection: bool = False

    def polygon(self) -> np.ndarray:
        """The lane's outline as a closed ring (left bound forward, right bound backward)."""
        return np.vstack([self.left_bound, self.right_bound[::-1]])


LIGHT_STATES = ("red", "yellow", "green", "inactive")


@dataclass(frozen=True)
class TrafficLight:
    """A signal at the end of the lanes ``lane_ids`` (their stop line), its state at each scene step (T+1,).

    ``successor_ids``: the lanes after the stop line whose movements it governs (empty: every movement).
    """

    light_id: str
    lane_ids: tuple[str, ...]
    states: np.ndarray
    successor_ids: tuple[str, ...] = ()

    def red_at(self, step: int) -> bool:
        return str(self.states[min(step, len(self.states) - 1)]) == "red"


@dataclass
class Scene:
    """A case ready for scoring.

    ``ego_log``: (T+1, 5) columns t_s, x_m, y_m, heading_rad, speed_mps; row 0 is the initial state.
    ``agent_states``: (A, T+1, 4) columns x_m, y_m, heading_rad, speed_mps; NaN where an agent is absent.
    ``ego_signals``: optional measured series of the log (``acc_lon_mps2``, ``yaw_rate_rps``, (T+1,)),
    used for the log's own trigger check so that it matches the warehouse reading of the pose line.
    ``traffic_lights``: the signals of the scene's lanes with their states per step.
    """

    scene_id: str
    source: str
    ego: EgoSpec
    ego_log: np.ndarray
    agent_ids: np.ndarray
    agent_classes: np.ndarray
    agent_length_m: np.ndarray
    agent_width_m: np.ndarray
    agent_states: np.ndarray
    lanes: tuple[SceneLane, ...]
    metadata: dict = field(default_factory=dict)
    ego_signals: dict = field(default_factory=dict)
    traffic_lights: tuple[TrafficLight, ...] = ()
    dt_s: float = DT_S

    def __post_init__(self) -> None:
        self.ego_log = np.asarray(self.ego_log, dtype=float)
        if self.ego_log.ndim != 2 or self.ego_log.shape[1] != 5 or len(self.ego_log) < 3:
            raise ValueError(f"scene {self.scene_id}: ego_log must be (T+1 >= 3, 5), got {self.ego_log.shape}")
        if not np.all(np.isfinite(self.ego_log)):
            raise ValueError(f"scene {self.scene_id}: ego_log has missing values")
        n = len(self.ego_log)
        self.agent_states = np.asarray(self.agent_states, dtype=float).reshape(-1, n, 4)
        a = len(self.agent_states)
        for name in ("agent_ids", "agent_classes", "agent_length_m", "agent_width_m"):
            arr = np.asarray(getattr(self, name))
            if len(arr) != a:
                raise ValueError(f"scene {self.scene_id}: {name} has {len(arr)} entries for {a} agents")
            setattr(self, name, arr)
        if not self.lanes:
            raise ValueError(f"scene {self.scene_id}: no lanes (the scorer needs a lane map)")

    @property
    def steps(self) -> int:
        """Number of horizon steps T (the log has T+1 samples)."""
        return len(self.ego_log) - 1

    @property
    def initial_state(self) -> dict[str, float]:
        _, x, y, h, v = self.ego_log[0]
        acc = float((self.ego_log[1, 4] - v) / self.dt_s)
        return {"x_m": float(x), "y_m": float(y), "heading_rad": float(h), "speed_mps": float(v), "acc_mps2": acc}

    @property
    def agent_is_static(self) -> np.ndarray:
        return np.array([c in STATIC_CLASSES for c in self.agent_classes], dtype=bool)


def default_speed_limit(road_type: str) -> float:
    """The default speed limit of a road type (``seeds/road_types.csv``)."""
    for row in read_seed("road_types"):
        if row["road_type"] == road_type:
            return float(row["default_speed_limit_mps"])
    raise KeyError(f"unknown road type {road_type!r}")


def straight_lanes(
    n_lanes: int = 1,
    length_m: float = 200.0,
    lane_width_m: float = 3.5,
    speed_limit_mps: float = 16.7,
    start_x_m: float = -20.0,
) -> tuple[SceneLane, ...]:
    """Parallel eastbound lanes along y = 0, 3.5, 7 ... (lane 0 centred on y = 0): the hand-built road."""
    x = np.arange(start_x_m, start_x_m + length_m + 1e-9, 1.0)
    lanes = []
    for i in range(n_lanes):
        y = i * lane_width_m
        c = np.column_stack([x, np.full_like(x, y)])
        lanes.append(
            SceneLane(
                lane_id=f"lane_{i}",
                centerline=c,
                left_bound=c + [0.0, lane_width_m / 2],
                right_bound=c - [0.0, lane_width_m / 2],
                speed_limit_mps=speed_limit_mps,
                neighbours=tuple(f"lane_{j}" for j in (i - 1, i + 1) if 0 <= j < n_lanes),
            )
        )
    return tuple(lanes)


def constant_track(x: float, y: float, heading: float, speed: float, steps: int, dt_s: float = DT_S) -> np.ndarray:
    """(T+1, 4) states of an agent moving straight at constant speed (a stopped one with speed 0)."""
    t = np.arange(steps + 1) * dt_s
    return np.column_stack(
        [x + speed * t * np.cos(heading), y + speed * t * np.sin(heading),
         np.full_like(t, heading), np.full_like(t, speed)]
    )


def log_from_speeds(x0: float, y0: float, heading: float, speeds: np.ndarray, dt_s: float = DT_S) -> np.ndarray:
    """(T+1, 5) straight-line ego log from a speed profile (trapezoidal position integration)."""
    speeds = np.asarray(speeds, dtype=float)
    dist = np.concatenate([[0.0], np.cumsum((speeds[1:] + speeds[:-1]) / 2 * dt_s)])
    t = np.arange(len(speeds)) * dt_s
    return np.column_stack(
        [t, x0 + dist * np.cos(heading), y0 + dist * np.sin(heading), np.full_like(t, heading), speeds]
    )
