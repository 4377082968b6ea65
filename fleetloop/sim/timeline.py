"""One vehicle-day's timeline: tasks (dispatched/driving/waiting/done), the speed profile and event slots.

Time is counted in samples of 0.1 s (deciseconds after 00:00 UTC). The speed profile is piecewise
linear between knots on that grid, so acceleration is piecewise constant, position is its exact
integral and every sample's acc_lon equals the forward difference of speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fleetloop.definitions import trigger_params
from fleetloop.sim.fleet import JAM_WINDOW_S

HZ = 10
SEPARATION = 20 * HZ  # events of one vehicle stay at least 20 s apart
STATUS = {"dispatched": 0, "driving": 1, "waiting": 2, "done": 3}  # index into contract.TASK_STATUSES
MODE = {"auto": 0, "remote": 1, "manual": 2, "fault": 3}  # index into contract.DRIVE_MODES
MANUAL_TASK_SHARE = 0.05
JAM_RAMP_S = 20  # the crawl starts this long before the window and ends this long after


@dataclass
class Kinematics:
    """Per-class speed figures used by the profile (m/s, m/s2)."""

    cruise_mps: float
    accel_mps2: float
    decel_mps2: float
    drive_minutes: tuple[float, float]
    stops_per_hour: float


@dataclass
class Timeline:
    """Phases, speed knots and free cruise intervals of one vehicle-day."""

    start: int  # first sample (ds after 00:00 UTC)
    end: int  # one past the last sample
    phase_start: list[int] = field(default_factory=list)
    phase_status: list[int] = field(default_factory=list)
    phase_task: list[int] = field(default_factory=list)  # -1 when idle
    phase_mode: list[int] = field(default_factory=list)
    knots: dict[int, float] = field(default_factory=dict)
    cruise: list[tuple[int, int, float]] = field(default_factory=list)  # free constant-speed spans (auto)
    occupied: list[tuple[int, int]] = field(default_factory=list)
    n_tasks: int = 0

    def phase(self, t: int, status: str, task: int = -1, mode: int = MODE["auto"]) -> None:
        self.phase_start.append(t)
        self.phase_status.append(STATUS[status])
        self.phase_task.append(task)
        self.phase_mode.append(mode)

    def knot(self, t: int, v: float) -> None:
        self.knots[int(t)] = float(v)

    def knot_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        ts = np.array(sorted(self.knots), dtype=np.int64)
        return ts, np.array([self.knots[t] for t in ts])

    def is_free(self, a: int, b: int) -> bool:
        return all(a >= d + SEPARATION or b + SEPARATION <= c for c, d in self.occupied)

    def find_slot(self, rng: np.random.Generator, length: int, tries: int = 40, lead: int = 0,
                  tail: int = 0, accept=None) -> tuple[int, float] | None:
        """A start sample inside a free cruise span with ``lead`` samples before and ``tail`` after."""
        spans = [(a + lead, b - length - tail, v) for a, b, v in self.cruise if b - length - tail > a + lead]
        if not spans:
            return None
        weights = np.array([b - a for a, b, _ in spans], dtype=float)
        for _ in range(tries):
            a, b, v = spans[int(rng.choice(len(spans), p=weights / weights.sum()))]
            t = int(rng.integers(a, b + 1))
            if self.is_free(t - lead, t + length + tail) and (accept is None or accept(t, length)):
                return t, v
        return None

    def occupy(self, a: int, b: int) -> None:
        self.occupied.append((int(a), int(b)))


def ramp(v0: float, v1: float, rate: float) -> int:
    """Samples needed to change speed from v0 to v1 at about ``rate`` m/s2 (at least one)."""
    return max(1, int(np.ceil(abs(v1 - v0) / rate * HZ)))


def build_timeline(start_s: int, end_s: int, jams: tuple[int, ...], kin: Kinematics,
                   rng: np.random.Generator) -> Timeline:
    """Tasks filling the operating hours; every jam window of the site sits inside a driving phase."""
    tl = Timeline(start_s * HZ, end_s * HZ)
    tl.knot(tl.start, 0.0)
    t = tl.start
    for w0 in jams:
        block = _jam_block(w0 * HZ, kin, rng)
        t = _fill(tl, t, block[0], kin, rng)
        t = _task(tl, t, kin, rng, jam=block)
    _fill(tl, t, tl.end, kin, rng)
    tl.knot(tl.end, 0.0)
    return tl


def _jam_block(w0: int, kin: Kinematics, rng: np.random.Generator) -> tuple[int, int, int, int, float]:
    """(task start, drive start, crawl start, crawl end, crawl speed) of a jam task."""
    # crawl clearly above the stuck speed and clearly below the site_anomaly crawl speed
    lo = trigger_params("stuck")["max_speed_mps"] + 0.1
    hi = trigger_params("site_anomaly")["crawl_speed_mps"] - 0.3
    crawl = float(round(rng.uniform(lo, hi), 2))
    crawl_start = w0 - JAM_RAMP_S * HZ
    crawl_end = w0 + (JAM_WINDOW_S + JAM_RAMP_S) * HZ
    drive_start = (crawl_start - ramp(kin.cruise_mps, crawl, kin.decel_mps2)
                   - int(rng.integers(60, 121)) * HZ - ramp(0, kin.cruise_mps, kin.accel_mps2))
    return drive_start - 30 * HZ, drive_start, crawl_start, crawl_end, crawl


def _fill(tl: Timeline, t: int, until: int, kin: Kinematics, rng: np.random.Generator) -> int:
    """Normal tasks from t until ``until``; the remainder is idle ('done')."""
    while True:
        need = 60 * HZ + ramp(0, kin.cruise_mps, kin.accel_mps2) + ramp(kin.cruise_mps, 0, kin.decel_mps2)
        if until - t < need + 8 * 60 * HZ:
            if until > t:
                tl.phase(t, "done")
            return until
        t = _task(tl, t, kin, rng, until=until)


def _task(tl: Timeline, t: int, kin: Kinematics, rng: np.random.Generator, until: int | None = None,
          jam: tuple | None = None) -> int:
    """One task from t: dispatched, driving, waiting, done; returns its end."""
    task = tl.n_tasks
    tl.n_tasks += 1
    manual = jam is None and rng.random() < MANUAL_TASK_SHARE
    mode = MODE["manual"] if manual else MODE["auto"]
    wait = int(rng.integers(60, 241)) * HZ
    idle = int(rng.integers(10, 61)) * HZ
    if jam is not None:
        task_start, drive_start, crawl_start, crawl_end, crawl = jam
        if task_start > t:
            tl.phase(t, "done")
        tl.phase(task_start, "dispatched", task, mode)
        post = int(rng.integers(60, 121)) * HZ
        drive_end = (crawl_end + ramp(crawl, kin.cruise_mps, kin.accel_mps2) + post
                     + ramp(kin.cruise_mps, 0, kin.decel_mps2))
        tl.phase(drive_start, "driving", task, mode)
        up = ramp(0, kin.cruise_mps, kin.accel_mps2)
        tl.knot(drive_start, 0.0)
        tl.knot(drive_start + up, kin.cruise_mps)
        tl.knot(crawl_start - ramp(kin.cruise_mps, crawl, kin.decel_mps2), kin.cruise_mps)
        tl.knot(crawl_start, crawl)
        tl.knot(crawl_end, crawl)
        tl.knot(crawl_end + ramp(crawl, kin.cruise_mps, kin.accel_mps2), kin.cruise_mps)
        tl.knot(drive_end - ramp(kin.cruise_mps, 0, kin.decel_mps2), kin.cruise_mps)
        tl.knot(drive_end, 0.0)
        tl.occupy(crawl_start, crawl_end)
    else:
        dispatched = int(rng.integers(20, 61)) * HZ
        drive = int(rng.uniform(*kin.drive_minutes) * 60) * HZ
        drive = min(drive, until - t - dispatched - wait - idle)
        tl.phase(t, "dispatched", task, mode)
        drive_start = t + dispatched
        drive_end = drive_start + drive
        tl.phase(drive_start, "driving", task, mode)
        _drive(tl, drive_start, drive_end, kin, rng, manual)
    tl.phase(drive_end, "waiting", task, mode)
    tl.phase(drive_end + wait, "done")
    return drive_end + wait + idle


def _drive(tl: Timeline, a: int, b: int, kin: Kinematics, rng: np.random.Generator, manual: bool) -> None:
    """Accelerate, cruise with short traffic stops (10 s up to 20 s below the stuck trend), brake to a stop."""
    v = kin.cruise_mps
    max_hold_s = int(trigger_params("stuck")["trend_s"]) - 20
    up, down = ramp(0, v, kin.accel_mps2), ramp(v, 0, kin.decel_mps2)
    stop_len = lambda hold: down + hold + up  # noqa: E731
    n_stops = rng.poisson(kin.stops_per_hour * (b - a) / (3600 * HZ))
    starts = np.sort(rng.integers(a + up + 60 * HZ, max(a + up + 60 * HZ + 1, b - down - 60 * HZ - 700), n_stops))
    cursor = a + up
    tl.knot(a, 0.0)
    tl.knot(cursor, v)
    for s in starts.tolist():
        hold = int(rng.integers(10, max_hold_s + 1)) * HZ
        if s < cursor + 60 * HZ or s + stop_len(hold) > b - down - 60 * HZ:
            continue
        _cruise(tl, cursor, s, v, manual)
        tl.knot(s, v)
        tl.knot(s + down, 0.0)
        tl.knot(s + down + hold, 0.0)
        cursor = s + stop_len(hold)
        tl.knot(cursor, v)
    _cruise(tl, cursor, b - down, v, manual)
    tl.knot(b - down, v)
    tl.knot(b, 0.0)


def _cruise(tl: Timeline, a: int, b: int, v: float, manual: bool) -> None:
    if not manual and b - a > 30 * HZ:
        tl.cruise.append((a, b, v))
