"""The fleet plan: vehicles (class, site, route), software rollout, event rates and site jams.

Everything here is decided up front from the seed so that vehicles can then be simulated one by one,
in any process, with the same result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from fleetloop.definitions import read_seed, trigger_params, vehicle_classes
from fleetloop.sim import environment
from fleetloop.sim.config import SimConfig
from fleetloop.sim.world import Route, build_world

BASELINE_VERSION = "v3.2.0"
ROLLOUT_VERSION = "v3.3.0"
VEHICLES_PER_SITE = 4  # small fleets fill sites in blocks so that a site jam can involve >= 3 vehicles
OP_START_JITTER_S = 600
# Sites that run an evening shift (17:00 local in China, 09:00 UTC), so that dusk and night hours exist even in
# a short demo day; the shift starts earlier when the operating hours would not fit in the UTC day.
EVENING_SITES = ("su_logistics", "sh_lingang")
EVENING_START_S = 9 * 3600

# Events per driving hour of one vehicle at event_rate_scale = 1 on the baseline version.
BASE_RATES_PER_DRIVING_HOUR = {
    "hard_brake_phantom": 0.10,
    "hard_brake_other": 0.06,
    "weaving": 0.05,
    "stuck_trend": 0.04,
    "stuck_problem": 0.02,
    "offline": 0.04,
    "takeover": 0.08,
    "call_driver": 0.04,
    "call_guard": 0.04,
    "error_burst": 0.05,
    "uncertainty": 0.06,
    "output_jitter": 0.05,
    "incident": 0.02,
    "standalone_note": 0.03,
}
# Multipliers of the rollout version (new obstacle-filtering stack: fewer phantom brakes, calmer planner).
VERSION_FACTORS = {
    BASELINE_VERSION: {},
    ROLLOUT_VERSION: {"hard_brake_phantom": 0.4, "uncertainty": 0.6, "output_jitter": 0.7, "weaving": 0.8,
                      "takeover": 0.8},
}
SITE_JAMS_PER_SITE_HOUR = 0.06
ISOLATED_ERROR_CODES_PER_HOUR = 1.0  # background noise, not scaled


def event_rates(version: str, scale: float) -> dict[str, float]:
    """True event rates per driving hour of one vehicle on ``version``."""
    factors = VERSION_FACTORS[version]
    return {k: v * scale * factors.get(k, 1.0) for k, v in BASE_RATES_PER_DRIVING_HOUR.items()}


@dataclass(frozen=True)
class Vehicle:
    index: int
    vehicle_id: str
    vehicle_class: str
    city: str
    site_id: str
    route_id: str
    op_start_s: int  # operating hours start, seconds after 00:00 UTC
    rollout: bool  # gets the rollout version

    def version_on(self, plan: FleetPlan, day: dt.date) -> str:
        return ROLLOUT_VERSION if self.rollout and day >= plan.rollout_day else BASELINE_VERSION


@dataclass(frozen=True)
class Jam:
    """A site-wide jam: these vehicles of the site crawl through one aligned window."""

    window_start_s: int
    vehicle_ids: tuple[str, ...]


@dataclass(frozen=True)
class FleetPlan:
    config: SimConfig
    vehicles: tuple[Vehicle, ...]
    rollout_day: dt.date
    jams: dict[tuple[str, dt.date], tuple[Jam, ...]]  # (site, day) -> jams

    def jam_windows(self, vehicle: Vehicle, day: dt.date) -> tuple[int, ...]:
        """Window starts (s after 00:00 UTC) of the jams a vehicle is caught in on a day."""
        return tuple(j.window_start_s for j in self.jams.get((vehicle.site_id, day), ())
                     if vehicle.vehicle_id in j.vehicle_ids)

    def weather(self, site_id: str, day_index: int) -> list[tuple[int, int, str]]:
        """Weather episodes of a site-day (shared by its vehicles), inside the site's operating hours."""
        members = [v for v in self.vehicles if v.site_id == site_id]
        site_index = [s.site_id for s in build_world().sites].index(site_id)
        window = (min(v.op_start_s for v in members), max(self.op_end_s(v) for v in members))
        return environment.episodes(rng_for(self.config.seed, 8, site_index, day_index),
                                    members[0].city, window)

    def route(self, vehicle: Vehicle) -> Route:
        return next(r for r in build_world().routes if r.route_id == vehicle.route_id)

    def op_end_s(self, vehicle: Vehicle) -> int:
        return vehicle.op_start_s + int(round(self.config.hours_per_day * 3600))

    def deployments(self) -> list[dict]:
        """Version records: the baseline for everyone before the period, the rollout on rollout_day."""
        released = {r["version"]: dt.date.fromisoformat(r["released_on"]) for r in read_seed("software_versions")}
        start = dt.datetime.combine(self.config.start, dt.time(), dt.UTC)
        base_at = dt.datetime.combine(min(released[BASELINE_VERSION], self.config.start), dt.time(), dt.UTC)
        roll_at = dt.datetime.combine(self.rollout_day, dt.time(), dt.UTC)
        out = [{"ts": start, "vehicle_id": v.vehicle_id, "version": BASELINE_VERSION, "deployed_at": base_at}
               for v in self.vehicles]
        if self.rollout_day in self.config.day_list:
            out += [{"ts": roll_at, "vehicle_id": v.vehicle_id, "version": ROLLOUT_VERSION, "deployed_at": roll_at}
                    for v in self.vehicles if v.rollout]
        return out


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent generator for one (seed, keys...) combination."""
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]]))


def plan_fleet(config: SimConfig) -> FleetPlan:
    """Vehicles, rollout and site jams for a configuration."""
    world = build_world()
    classes = vehicle_classes()
    rng = rng_for(config.seed, 1)
    n_sites = int(np.clip(config.vehicles // VEHICLES_PER_SITE, 1, len(world.sites)))
    sites = world.sites[:n_sites]
    rollout = set(rng.permutation(config.vehicles)[: int(round(config.rollout_share * config.vehicles))].tolist())
    vehicles, per_site = [], {}
    for i in range(config.vehicles):
        site = sites[i % n_sites]
        j = per_site.get(site.site_id, 0)
        per_site[site.site_id] = j + 1
        routes = world.routes_of(site.site_id)
        route = routes[j % len(routes)]
        assert route.vehicle_class in classes
        vehicles.append(Vehicle(
            index=i, vehicle_id=f"AV{i + 1:04d}", vehicle_class=route.vehicle_class, city=site.city,
            site_id=site.site_id, route_id=route.route_id,
            op_start_s=_shift_start_s(site.site_id, config) + int(rng.integers(0, OP_START_JITTER_S)),
            rollout=i in rollout,
        ))
    rollout_day = config.start + dt.timedelta(days=max(1, config.days // 2))  # after the first day
    plan = FleetPlan(config, tuple(vehicles), rollout_day, {})
    jams = {}
    for d, day in enumerate(config.day_list):
        for s, site in enumerate(sites):
            members = [v for v in vehicles if v.site_id == site.site_id]
            if len(members) >= 3:
                jams[(site.site_id, day)] = _jam_windows(plan, members, rng_for(config.seed, 2, d, s))
    return FleetPlan(config, tuple(vehicles), rollout_day, jams)


def _shift_start_s(site_id: str, config: SimConfig) -> int:
    """Start of a site's operating shift, seconds after 00:00 UTC (jitter and hours still fit the day)."""
    if site_id not in EVENING_SITES:
        return 0
    return max(0, min(EVENING_START_S, 24 * 3600 - OP_START_JITTER_S - int(round(config.hours_per_day * 3600))))


JAM_WINDOW_S = 600
JAM_LEAD_S = 400  # a jam task starts at most this long before its window
JAM_TAIL_S = 1200  # ... and ends at most this long after the window start


def _jam_windows(plan: FleetPlan, members: list[Vehicle], rng: np.random.Generator) -> tuple[Jam, ...]:
    """Aligned windows, at least 3 apart, in which enough vehicles of a site crawl to fire site_anomaly
    with a margin: max(min_vehicles + 1, (min_share + 0.2) of the site) of them."""
    p = trigger_params("site_anomaly")
    lo = max(v.op_start_s for v in members) + JAM_LEAD_S
    hi = min(plan.op_end_s(v) for v in members) - JAM_TAIL_S
    candidates = list(range(-(-lo // JAM_WINDOW_S) * JAM_WINDOW_S, hi + 1, JAM_WINDOW_S))
    n = rng.poisson(SITE_JAMS_PER_SITE_HOUR * plan.config.event_rate_scale * plan.config.hours_per_day)
    size = min(len(members), max(int(p["min_vehicles"]) + 1, int(np.ceil((p["min_share"] + 0.2) * len(members)))))
    chosen: list[int] = []
    for w in rng.permutation(candidates).tolist():
        if len(chosen) >= n:
            break
        if all(abs(w - c) >= 3 * JAM_WINDOW_S for c in chosen):
            chosen.append(int(w))
    ids = [v.vehicle_id for v in members]
    return tuple(Jam(w, tuple(sorted(rng.choice(ids, size, replace=False).tolist()))) for w in sorted(chosen))
