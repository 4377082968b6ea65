"""Simulate one vehicle for one day: timeline, injected events, 10 Hz pose/planner, 1 Hz heartbeat,
event-source records, perception objects in case windows, the 1 Hz perception summary and environment with
the scenes behind them, and the truth of all of it.

All signals are computed with numpy over the whole day at once; Python loops only run over tasks and
events (tens to hundreds per vehicle-day).
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np

from fleetloop.definitions import vehicle_classes
from fleetloop.sim import fixes, traffic
from fleetloop.sim.events import CASE_MARGIN, EventsMixin
from fleetloop.sim.fleet import FleetPlan, Vehicle, event_rates, rng_for
from fleetloop.sim.problems import ProblemsMixin
from fleetloop.sim.scenes import ScenesMixin
from fleetloop.sim.signals import DayOutput, SignalsMixin
from fleetloop.sim.timeline import HZ, Kinematics, Timeline, build_timeline

KIND_PARAMS = {  # drive minutes per task, traffic stops per hour
    "campus": ((5.0, 15.0), 3.0),
    "urban": ((8.0, 25.0), 6.0),
    "highway": ((15.0, 40.0), 0.5),
}


def kinematics(plan: FleetPlan, vehicle: Vehicle, rng: np.random.Generator) -> Kinematics:
    cls = vehicle_classes()[vehicle.vehicle_class]
    route = plan.route(vehicle)
    cruise = min(float(cls["cruise_speed_mps"]) * rng.uniform(0.9, 1.0), 0.95 * min(route.speed_limits_mps))
    minutes, stops = KIND_PARAMS[route.kind]
    return Kinematics(round(cruise, 2), min(1.0, 0.8 * float(cls["max_acc_mps2"])), 1.0, minutes, stops)


class _Day(EventsMixin, ProblemsMixin, SignalsMixin, ScenesMixin):
    """Working state of one vehicle-day simulation."""

    def __init__(self, plan: FleetPlan, vehicle: Vehicle, day_index: int):
        self.plan, self.vehicle, self.day_index = plan, vehicle, day_index
        self.day = plan.config.day_list[day_index]
        self.tag = f"{vehicle.vehicle_id}-{self.day:%Y%m%d}"
        self.rng = rng_for(plan.config.seed, 3, vehicle.index, day_index)
        # the fix-label draws (which stuck episodes wait behind a vehicle) leave the main stream untouched
        self.label_rng = rng_for(plan.config.seed, 6, vehicle.index, day_index)
        # so do the scene world's draws (ambient traffic, injected scenes, lights, sensors)
        self.scene_rng = rng_for(plan.config.seed, 7, vehicle.index, day_index)
        # and the problem families' members (``problems``)
        self.problem_rng = rng_for(plan.config.seed, 9, vehicle.index, day_index)
        self.route = plan.route(vehicle)
        self.path = self.route.path
        self.cls = vehicle_classes()[vehicle.vehicle_class]
        self.version = vehicle.version_on(plan, self.day)
        self.rates = event_rates(self.version, plan.config.event_rate_scale)
        self.kin = kinematics(plan, vehicle, self.rng)
        self.tl: Timeline = build_timeline(vehicle.op_start_s, plan.op_end_s(vehicle),
                                           plan.jam_windows(vehicle, self.day), self.kin, self.rng)
        self.day_ms = int(dt.datetime.combine(self.day, dt.time(), dt.UTC).timestamp() * 1000)
        self.truth: list[dict] = []
        self.incidents: list[dict] = []
        self.records: dict[str, list[dict]] = {k: [] for k in
                                               ("takeover", "vehicle_call", "error_code", "asr_note", "incident")}
        self.codes: list[tuple[int, str, str]] = []  # (sample, code, module)
        self.windows: list[tuple[int, int]] = []  # case windows for perception
        self.special_tracks: list[traffic.Track] = []
        self.brakes: list[dict] = []
        self.weaves: list[tuple[int, int, float, float]] = []
        self.problem_weaves: dict[int, dict] = {}  # start sample -> the weave's problem family
        self.jitters: list[tuple[int, int, float]] = []
        self.flat: list[tuple[int, int]] = []
        self.remote: list[tuple[int, int]] = []
        self.offline: list[tuple[int, int]] = []
        self.counter = 0

    # ---- helpers -------------------------------------------------------------------------------
    def ms(self, sample: int) -> int:
        return self.day_ms + int(sample) * 100

    def count(self, key: str) -> int:
        hours = sum(b - a for a, b, _ in self.tl.cruise) / (3600 * HZ)
        return int(self.rng.poisson(self.rates[key] * hours))

    def truth_row(self, truth_id: str) -> dict:
        return next(r for r in self.truth if r["truth_id"] == truth_id)

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def add_truth(self, trigger: str, a: int, b: int, tier=None, cause=None, family: str | None = None,
                  **attrs) -> str:
        """A truth event with its fix label (``fixes``; ``family`` defaults to the trigger's own)."""
        truth_id = f"{trigger}-{self.tag}-{self.next_id():03d}"
        self.truth.append({
            "truth_id": truth_id, "trigger": trigger, "vehicle_id": self.vehicle.vehicle_id,
            "site_id": self.vehicle.site_id, "ts_start": self.ms(a), "ts_end": self.ms(b), "tier": tier,
            "cause": cause, "vehicle_class": self.vehicle.vehicle_class, "version": self.version,
            "attributes": json.dumps(attrs, ensure_ascii=False, sort_keys=True),
        } | fixes.label(trigger, family or trigger))
        self.windows.append((a - CASE_MARGIN, b + CASE_MARGIN))
        return truth_id

    # ---- kinematics ------------------------------------------------------------------------------

    def draw_start(self) -> None:
        """Where on its loop the vehicle starts the day."""
        self.s0 = float(self.rng.uniform(0, self.path.length_m))

    def integrate(self) -> None:
        """Speed, acceleration, arc length and pose at every sample, exactly from the knots (again after every
        change of the profile)."""
        tl = self.tl
        kt, kv = tl.knot_arrays()
        k = np.arange(tl.start, tl.end + 1)
        seg = np.clip(np.searchsorted(kt, k, side="right") - 1, 0, len(kt) - 2)
        dt_s = np.diff(kt) / HZ
        slope = np.diff(kv) / dt_s
        dist = np.concatenate([[0.0], np.cumsum((kv[:-1] + kv[1:]) / 2 * dt_s)])
        tau = (k - kt[seg]) / HZ
        self.k = k[:-1]
        self.n = self.k.size
        self.v = np.maximum(kv[seg] + slope[seg] * tau, 0.0)[:-1]
        self.acc = slope[seg][:-1]
        s = dist[seg] + kv[seg] * tau + 0.5 * slope[seg] * tau ** 2
        self.s = self.s0 + s[:-1]
        self.ds = np.diff(s)
        self.x, self.y, self.h, self.kappa, self.prim = self.path.evaluate(self.s)

    def idx(self, sample: int) -> int:
        return int(sample) - self.tl.start

    def on_straight(self, t: int, length: int, margin: int) -> bool:
        a, b = self.idx(t - margin), self.idx(t + length + margin)
        return a >= 0 and b < self.n and self.prim[a] == self.prim[b] and self.prim[a] % 2 == 0

def simulate_vehicle_day(plan: FleetPlan, vehicle: Vehicle, day_index: int) -> DayOutput:
    """One vehicle-day, deterministic in (seed, vehicle, day)."""
    day = _Day(plan, vehicle, day_index)
    day.place_speed_events()
    day.draw_start()
    day.place_problems()
    day.integrate()
    day.place_shape_events()
    day.place_markers()
    day.brake_truths()
    day.shape_truths()
    day.isolated_codes()
    return day.outputs()
