"""Recurring problem families: patterns that repeat across vehicles and days in a recognisable scene context
(phantom brakes at one site's crosswalks after dark, weaving on expressway curves in rain, standing behind
double-parked trucks, hesitating at unprotected left turns on one software version), with known membership.

Every member is an ordinary injected event (``events``: a hard brake, a stuck episode or a weave) placed where its
family says, so it fires the family's trigger, is an ordinary truth event (with its fix label) and also a row of
``_truth/problem_episodes.parquet``. A family's members come at ``rate_per_hour`` per hour of free cruising under
its condition (site, route kind, software version, light, weather), each at the first pass of its map feature
after a time drawn uniformly over that exposure. Members draw from the vehicle-day's own ``problem_rng``: the other
draws of the simulation stay as they were (the slots they find may differ: members occupy the timeline too).
Mixed into ``vehicle_day._Day``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from fleetloop.definitions import read_seed, trigger_params
from fleetloop.sim import environment
from fleetloop.sim.fleet import ROLLOUT_VERSION
from fleetloop.sim.timeline import HZ, SEPARATION, ramp
from fleetloop.sim.world import build_world
from fleetloop.triggers.reference import TIER_SEVERITY_OFFSET

ALL_KINDS = ("campus", "urban", "highway")
LOW_LIGHT = ("dusk", "night")
PASS_TRIES = 20  # feature passes (or retry steps) tried after a member's drawn time before it is dropped
RETRY_STEP = 60 * HZ  # members without a map feature try again this much later
PHANTOM_GAP_M = (0.5, 3.0)  # the phantom brake ends with the ego's front this far short of the crosswalk
HESITATE_INSIDE_M = 1.0  # the hesitating ego stands with its centre this far into the junction (or up to 1 step)
CREEP_MPS, CREEP_S = 1.0, 5  # ... then creeps (a crawl above the stuck speed) before driving on
WEAVE_CYCLES = 3  # yaw swings of a weave, as the ordinary weaves
WEAVE_FREQ_HZ = (0.7, 0.9)
WEAVE_SWINGS = (3.0, 4.0)  # amplitude in weaving min_swing_rps: a curve's own yaw rate is offset to swing across
WEAVE_MARGIN = 20  # samples of the same curve before and after a weave
CURVE_ROAD_TYPE = "elevated"
STAND_CLEAR_M = 15.0  # the double-parked truck's victim stands at least this far from any crosswalk


@dataclass(frozen=True)
class ProblemFamily:
    """One recurring problem: where it happens, what each member is and how often."""

    name: str
    description: str
    event: str  # what a member is: phantom_brake | weave | stop_behind_truck | hesitation_stop
    feature: str  # where on the map: crosswalk | elevated_curve | open_road | unprotected_left
    expected_trigger: str
    tier: str | None  # the trigger tier of every member (None: the trigger has no tiers)
    rate_per_hour: float  # members per hour of free cruising under the condition
    defining_tags: tuple[str, ...]  # tags of seeds/tag_definitions.csv that describe its scene
    severity_note: str
    site_id: str | None = None  # None: every site
    route_kinds: tuple[str, ...] = ALL_KINDS
    lights: tuple[str, ...] | None = None  # None: any light
    weathers: tuple[str, ...] | None = None  # None: any weather
    versions: tuple[str, ...] | None = None  # None: every version

    @property
    def severity(self) -> int:
        """The severity the trigger gives a member's tier (``fleetloop.triggers.reference``'s tier scale)."""
        return int(trigger_params(self.expected_trigger)["severity"] + TIER_SEVERITY_OFFSET.get(self.tier, 0))

    def version_list(self) -> list[str]:
        return list(self.versions) if self.versions else [r["version"] for r in read_seed("software_versions")]

    def applies(self, site_id: str, route_kind: str, version: str) -> bool:
        return ((self.site_id is None or site_id == self.site_id) and route_kind in self.route_kinds
                and (self.versions is None or version in self.versions))

    def condition(self, weather: np.ndarray, light: np.ndarray) -> np.ndarray:
        """Seconds (true weather and light) under which the family happens."""
        ok = np.ones(weather.size, bool)
        if self.lights is not None:
            ok &= np.isin(light, self.lights)
        if self.weathers is not None:
            ok &= np.isin(weather, self.weathers)
        return ok


FAMILIES = (
    ProblemFamily(
        "phantom_brake_crosswalk_night", "hard brakes for nothing at the Suzhou logistics site's crosswalks after "
        "dark (a ghost pedestrian on the crosswalk)", "phantom_brake", "crosswalk", "hard_brake", "severe", 2.5,
        ("crosswalk", "low_light"), "severe tier: the riders behind may fall", site_id="su_logistics",
        route_kinds=("campus", "urban"), lights=LOW_LIGHT),
    ProblemFamily(
        "weaving_curve_rain", "weaving on the curves of elevated expressways in rain", "weave", "elevated_curve",
        "weaving", None, 20.0, ("rain", "road_elevated"), "weaving's one severity; at expressway speed",
        route_kinds=("highway",), weathers=("rain",)),
    ProblemFamily(
        "stuck_double_parked_truck", "standing behind a double-parked truck in the ego lane on the Suzhou "
        "logistics site's urban roads until it pulls away", "stop_behind_truck", "open_road", "stuck", "trend",
        3.0, ("truck_ahead",), "trend tier: one to two and a half minutes behind it", site_id="su_logistics",
        route_kinds=("urban",)),
    ProblemFamily(
        "hesitation_unprotected_left_v33", f"a stop, then creeping, at unprotected left turns with nothing "
        f"coming: {ROLLOUT_VERSION} only", "hesitation_stop", "unprotected_left", "stuck", "trend", 4.5,
        ("left_turn_unsignalised",), "trend tier: one to two and a half minutes", route_kinds=("campus", "urban"),
        versions=(ROLLOUT_VERSION,)),
)
BY_NAME = {f.name: f for f in FAMILIES}
SPEED_EVENTS = ("phantom_brake", "stop_behind_truck", "hesitation_stop")  # members that change the speed profile


class ProblemsMixin:
    """Placement of problem-family members; needs the state of ``vehicle_day._Day`` before integration."""

    def place_problems(self) -> None:
        """Members of every family that applies to this vehicle-day: the speed-changing ones in time order (each
        insertion moves everything after it along the loop, so later members are placed on the new profile),
        then the weaves."""
        scale = self.plan.config.problem_rate_scale
        families = [f for f in FAMILIES if f.applies(self.vehicle.site_id, self.route.kind, self.version)]
        if not families or scale == 0:
            return
        rng = self.problem_rng
        self.cond_secs = np.arange(self.tl.start // HZ, self.tl.end // HZ + 1)
        self.cond_weather, self.cond_light = self.conditions(self.cond_secs)
        cruise = np.zeros(self.cond_secs.size, bool)
        for a, b, _ in self.tl.cruise:
            cruise |= (self.cond_secs * HZ >= a) & (self.cond_secs * HZ < b)
        members = []
        for order, f in enumerate(families):
            ok = cruise & f.condition(self.cond_weather, self.cond_light)
            n = int(rng.poisson(f.rate_per_hour * scale * ok.sum() / 3600))
            if n:
                members += [(int(t) * HZ, order, f) for t in rng.choice(self.cond_secs[ok], n)]
        members.sort(key=lambda m: (m[0], m[1]))
        cursor = self.tl.start
        self.integrate()
        for t0, _, f in (m for m in members if m[2].event in SPEED_EVENTS):
            end = getattr(self, f"place_{f.event}")(f, max(t0, cursor))
            cursor = cursor if end is None else end + SEPARATION
        for t0, _, f in (m for m in members if m[2].event not in SPEED_EVENTS):
            self.place_weave(f, t0)

    def conditions(self, secs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """True weather and light at day seconds ``secs`` (what ``_truth/scene_seconds`` says)."""
        site = build_world().site(self.vehicle.site_id)
        weather = environment.weather_at(secs, self.plan.weather(self.vehicle.site_id, self.day_index))
        lux = environment.true_lux(environment.solar_elevation_deg(self.day, secs, site.origin_lat,
                                                                   site.origin_lon), weather)
        return weather, environment.classify_light(lux)

    # ---- where a member may go -------------------------------------------------------------------------
    def slot_ok(self, f: ProblemFamily, t: int, length: int) -> bool:
        """Samples [t, t + length] lie in one free cruise span, under the family's condition."""
        in_span = any(a <= t and t + length <= b for a, b, _ in self.tl.cruise)
        return in_span and self.tl.is_free(t, t + length) and self.holds(f, t, t + length)

    def holds(self, f: ProblemFamily, a: int, b: int) -> bool:
        """The family's condition holds at every whole second from sample a to sample b."""
        m = (self.cond_secs * HZ >= a) & (self.cond_secs * HZ <= b)
        return bool(f.condition(self.cond_weather[m], self.cond_light[m]).all())

    def feature_spans(self, feature: str) -> list[tuple[float, float]]:
        """Arc-length spans [a, b) of the route's loop where a family's map feature is."""
        path, route = self.path, self.route
        if feature == "elevated_curve":
            ends = np.append(path.s0[1:], path.length_m)
            return [(float(path.s0[p]), float(ends[p])) for p in range(path.s0.size)
                    if p % 2 == 1 and route.road_types[p] == CURVE_ROAD_TYPE]
        if feature == "unprotected_left":
            keep = [x for x in route.features if x.kind == "junction" and x.turn == "left" and not x.signalised]
        else:
            keep = [x for x in route.features if x.kind == feature]
        return [(float(path.s0[x.prim] + x.u0_m), float(path.s0[x.prim] + x.u1_m)) for x in keep]

    def passes(self, feature: str, before_m: float, t_min: int) -> list[tuple[int, float, float]]:
        """(sample, span start, span end as driven arc lengths) of the next passes of a feature after ``t_min``:
        the first sample at which the ego's centre is ``before_m`` short of the span's start."""
        length = self.path.length_m
        laps = np.arange(int(self.s[0] // length) - 1, int(self.s[-1] // length) + 2) * length
        spans = np.array(self.feature_spans(feature)).reshape(-1, 2)
        starts, ends = (np.add.outer(laps, spans[:, c]).ravel() for c in (0, 1))
        order = np.argsort(starts)
        starts, ends = starts[order], ends[order]
        i = np.searchsorted(self.s, starts - before_m)
        keep = (i < self.n) & (self.k[np.minimum(i, self.n - 1)] >= t_min)
        return [(int(self.k[j]), float(a), float(b))
                for j, a, b in zip(i[keep], starts[keep], ends[keep], strict=True)][:PASS_TRIES]

    @contextlib.contextmanager
    def tentative(self):
        """Undo a speed insertion (knots, occupation, brake) when the block raises ``_Rejected``."""
        knots, occupied, brakes = dict(self.tl.knots), list(self.tl.occupied), list(self.brakes)
        try:
            yield
        except _Rejected:
            self.tl.knots, self.tl.occupied, self.brakes = knots, occupied, brakes
            self.integrate()

    # ---- the members -----------------------------------------------------------------------------------
    def place_phantom_brake(self, f: ProblemFamily, t_min: int) -> int | None:
        """A hard brake for a phantom standing on a crosswalk, ending with the ego's front just short of it; the
        episode lasts until the ego's rear has left the crosswalk and holds a whole second on it."""
        rng = self.problem_rng
        shape = self.brake_shape(rng, f.tier)
        if shape is None:
            return None
        d, acc = shape
        length = d + self.brake_recovery(d, acc)
        half = float(self.cls["length_m"]) / 2
        brake_m = (2 * self.kin.cruise_mps + acc * d / HZ) / 2 * d / HZ
        for t, start_m, end_m in self.passes("crosswalk", half + rng.uniform(*PHANTOM_GAP_M) + brake_m, t_min):
            if not self.slot_ok(f, t, length):
                continue
            with self.tentative():
                b = self.insert_brake(t, d, acc, f.tier, "phantom_obstacle", problem=f.name,
                                      phantom_s=(start_m + end_m) / 2)
                self.integrate()
                cleared = np.flatnonzero(self.s - half >= end_m)
                z = int(self.k[cleared[0]]) if cleared.size else self.tl.end
                whole = self.idx(-(-t // HZ) * HZ) + np.arange(0, z - t + 1, HZ)
                whole = whole[whole < self.n]
                self.tl.occupied.pop()  # the episode, not only the brake, stays clear of other events
                if not (self.on_crosswalk(self.s[whole], half).any() and self.holds(f, t, z)
                        and self.tl.is_free(t, z)):
                    raise _Rejected
                b["episode_end"] = z
                self.tl.occupy(t, max(t + length, z))
                return max(t + length, z)
        return None

    def place_stop_behind_truck(self, f: ProblemFamily, t_min: int) -> int | None:
        """A stuck episode behind a truck stopped in the ego's lane, standing on open road (outside junctions and
        crosswalks)."""
        hold = self.stuck_hold(self.problem_rng, f.tier)
        length = self.stop_length(hold)
        for t in range(t_min, t_min + PASS_TRIES * RETRY_STEP, RETRY_STEP):
            if t >= self.tl.end or not self.slot_ok(f, t, length):
                continue
            stand = np.array([self.s[self.idx(t)] + self.stop_m()])
            if self.map_context(stand)["in_junction"][0] or self.on_crosswalk(stand, STAND_CLEAR_M)[0]:
                continue
            self.insert_stop(t, hold, f.tier, problem=f.name, blocker="truck")
            self.integrate()
            return t + length
        return None

    def place_hesitation_stop(self, f: ProblemFamily, t_min: int) -> int | None:
        """A stop with the ego's centre just inside an unprotected left-turn junction, standing (nothing ahead),
        then creeping before it drives on."""
        hold = self.stuck_hold(self.problem_rng, f.tier)
        creep = (CREEP_MPS, CREEP_S * HZ)
        length = self.stop_length(hold, creep)
        for t, _, _ in self.passes("unprotected_left", self.stop_m() - HESITATE_INSIDE_M, t_min):
            if not self.slot_ok(f, t, length):
                continue
            ctx = self.map_context(np.array([self.s[self.idx(t)] + self.stop_m()]))
            if not (ctx["in_junction"][0] and ctx["turn"][0] == "left" and not ctx["junction_signalised"][0]):
                continue
            self.insert_stop(t, hold, f.tier, creep, problem=f.name, blocker=None)
            self.integrate()
            return t + length
        return None

    def stop_m(self) -> float:
        """Distance driven while braking from cruise to a standstill (a linear ramp)."""
        return self.kin.cruise_mps / 2 * ramp(self.kin.cruise_mps, 0, self.kin.decel_mps2) / HZ

    def place_weave(self, f: ProblemFamily, t_min: int) -> None:
        """A weave on an elevated curve, WEAVE_MARGIN samples clear of both ends, swinging across the curve's own
        yaw rate."""
        rng = self.problem_rng
        freq = rng.uniform(*WEAVE_FREQ_HZ)
        m = int(round(WEAVE_CYCLES / freq * HZ))
        amp = float(rng.uniform(*WEAVE_SWINGS) * trigger_params("weaving", self.vehicle.vehicle_class)[
            "min_swing_rps"])
        for entry, _, end_m in self.passes(f.feature, 0.0, t_min):
            exit_i = int(np.searchsorted(self.s, end_m))
            room = exit_i - self.idx(entry) - 2 * WEAVE_MARGIN - m
            if room <= 0:
                continue
            t = entry + WEAVE_MARGIN + int(rng.integers(0, room))
            a, z = self.idx(t - WEAVE_MARGIN), self.idx(t + m + WEAVE_MARGIN)
            if z >= self.n or self.prim[a] != self.prim[z] or not self.slot_ok(f, t, m):
                continue
            self.tl.occupy(t, t + m)
            self.weaves.append((t, m, amp, 2 * np.pi * freq))
            self.problem_weaves[t] = {"problem": f.name}
            return

    # ---- truth -----------------------------------------------------------------------------------------
    def event_rng(self, b: dict) -> np.random.Generator:
        """The generator an event's own draws come from: the family's for a member, the day's otherwise."""
        return self.problem_rng if "problem" in b else self.rng

    def problem_attrs(self, b: dict) -> dict:
        return {"problem": b["problem"]} if "problem" in b else {}

    def add_episode(self, b: dict, truth_id: str, a: int, z: int) -> None:
        """The member's row of ``_truth/problem_episodes`` (kept with its truth event, samples a to z)."""
        if "problem" not in b:
            return
        f = BY_NAME[b["problem"]]
        self.truth_row(truth_id)["episode"] = {
            "episode_id": f"{f.name}-{truth_id.split('-', 1)[1]}", "family": f.name,
            "vehicle_id": self.vehicle.vehicle_id, "site_id": self.vehicle.site_id, "software_version": self.version,
            "ts_start": self.ms(a), "ts_end": self.ms(z), "expected_trigger": f.expected_trigger,
            "truth_id": truth_id}


class _Rejected(Exception):
    """A tentative member did not land where its family says."""
