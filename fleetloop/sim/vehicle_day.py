"""Simulate one vehicle for one day: timeline, injected events, 10 Hz pose/planner, 1 Hz heartbeat,
event-source records, perception objects in case windows, and the truth of all of it.

All signals are computed with numpy over the whole day at once; Python loops only run over tasks and
events (tens to hundreds per vehicle-day).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from fleetloop.contract import DRIVE_MODES, INCIDENT_CATEGORIES, TASK_STATUSES
from fleetloop.definitions import read_seed, trigger_params, vehicle_classes
from fleetloop.lanemap import to_wgs84
from fleetloop.sim import texts, traffic
from fleetloop.sim.fleet import FleetPlan, Vehicle, event_rates, rng_for, ISOLATED_ERROR_CODES_PER_HOUR
from fleetloop.sim.geometry import wrap_angle
from fleetloop.sim.timeline import HZ, MODE, SEPARATION, Kinematics, Timeline, build_timeline, ramp
from fleetloop.sim.world import build_world

STEER_RATIO = 15.0
CASE_MARGIN = 15 * HZ  # perception objects are logged 15 s around each injected event
CODE_SPACING = 90 * HZ  # codes of one module never come 5 in 60 s unless they are a burst
NOISE = {"xy": 0.03, "heading": 0.002, "yaw": 0.004, "speed": 0.02, "acc_lon": 0.03, "acc_lat": 0.05,
         "steer": 0.2, "cmd_steer": 0.15}
KIND_PARAMS = {  # drive minutes per task, traffic stops per hour
    "campus": ((5.0, 15.0), 3.0),
    "urban": ((8.0, 25.0), 6.0),
    "highway": ((15.0, 40.0), 0.5),
}
OTHER_INCIDENTS = [c for c in INCIDENT_CATEGORIES if c != "vru_fall_no_contact"]
INCIDENT_FAULT = {  # category -> (at_fault choices, injury probability, police probability)
    "collision_vehicle": (("other", "ours", "unknown"), 0.1, 1.0),
    "collision_vru": (("ours", "other"), 0.5, 1.0),
    "collision_static": (("ours",), 0.0, 0.3),
    "property_damage": (("other", "ours"), 0.0, 0.5),
    "severe_near_miss": (("ours", "other"), 0.0, 0.0),
    "public_safety_complaint": (("ours", "unknown"), 0.0, 0.2),
    "service_complaint": (("ours",), 0.0, 0.0),
}


@dataclass
class DayOutput:
    """Everything one vehicle-day contributes to the landing and the truth."""

    vehicle_id: str
    pose: pa.Table
    planner: pa.Table
    heartbeat: list[dict]
    heartbeat_protected: np.ndarray  # rows that must stay clean (offline-gap edges)
    records: dict[str, list[dict]]  # takeover, vehicle_call, error_code, asr_note, incident
    perception: pa.Table | None
    truth: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    distance: list[dict] = field(default_factory=list)


def iso(ms: int | np.integer) -> str:
    """UTC ISO-8601 with milliseconds and Z."""
    return str(np.datetime64(int(ms), "ms")) + "Z"


def iso_array(ms: np.ndarray) -> np.ndarray:
    """Vectorised ``iso``."""
    return np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z")


def kinematics(plan: FleetPlan, vehicle: Vehicle, rng: np.random.Generator) -> Kinematics:
    cls = vehicle_classes()[vehicle.vehicle_class]
    route = plan.route(vehicle)
    cruise = min(float(cls["cruise_speed_mps"]) * rng.uniform(0.9, 1.0), 0.95 * min(route.speed_limits_mps))
    minutes, stops = KIND_PARAMS[route.kind]
    return Kinematics(round(cruise, 2), min(1.0, 0.8 * float(cls["max_acc_mps2"])), 1.0, minutes, stops)


class _Day:
    """Working state of one vehicle-day simulation."""

    def __init__(self, plan: FleetPlan, vehicle: Vehicle, day_index: int):
        self.plan, self.vehicle, self.day_index = plan, vehicle, day_index
        self.day = plan.config.day_list[day_index]
        self.tag = f"{vehicle.vehicle_id}-{self.day:%Y%m%d}"
        self.rng = rng_for(plan.config.seed, 3, vehicle.index, day_index)
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

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def add_truth(self, trigger: str, a: int, b: int, tier=None, cause=None, **attrs) -> str:
        truth_id = f"{trigger}-{self.tag}-{self.next_id():03d}"
        self.truth.append({
            "truth_id": truth_id, "trigger": trigger, "vehicle_id": self.vehicle.vehicle_id,
            "site_id": self.vehicle.site_id, "ts_start": self.ms(a), "ts_end": self.ms(b), "tier": tier,
            "cause": cause, "vehicle_class": self.vehicle.vehicle_class, "version": self.version,
            "attributes": json.dumps(attrs, ensure_ascii=False, sort_keys=True),
        })
        self.windows.append((a - CASE_MARGIN, b + CASE_MARGIN))
        return truth_id

    # ---- speed events (change the profile) -----------------------------------------------------
    def place_speed_events(self) -> None:
        hb = trigger_params("hard_brake", self.vehicle.vehicle_class)
        tiers = {"mild": (hb["tier_mild_mps2"] + hb["acc_threshold_mps2"]) / 2,
                 "hard": (hb["acc_threshold_mps2"] + hb["tier_severe_mps2"]) / 2,
                 "severe": max(hb["tier_severe_mps2"] - 0.8, -float(self.cls["max_dec_mps2"]) + 0.1)}
        v = self.kin.cruise_mps
        jobs = ([("phantom_obstacle", (0.3, 0.45, 0.25))] * self.count("hard_brake_phantom")
                + [("other", (0.4, 0.45, 0.15))] * self.count("hard_brake_other"))
        for cause, p in jobs:
            tier = str(self.rng.choice(["mild", "hard", "severe"], p=p))
            acc = tiers[tier]
            d = int(min(self.rng.integers(6, 13), np.floor((v - 0.8) / -acc * HZ)))
            if d < 5:
                continue
            v1 = v + acc * d / HZ
            rec = ramp(v1, v, self.kin.accel_mps2)
            slot = self.tl.find_slot(self.rng, d + rec)
            if slot is None:
                continue
            t = slot[0]
            self.tl.knot(t, v)
            self.tl.knot(t + d, v1)
            self.tl.knot(t + d + rec, v)
            self.tl.occupy(t, t + d + rec)
            if cause == "other":
                cause = str(self.rng.choice(["cut_in", "pedestrian_crossing"]))
            self.brakes.append({"t": t, "d": d, "acc": acc, "tier": tier, "cause": cause, "v": v, "v1": v1})
        st = trigger_params("stuck", self.vehicle.vehicle_class)
        holds = {"trend": (st["trend_s"] + 15, st["problem_s"] - 30), "problem": (st["problem_s"] + 20,
                                                                                 st["problem_s"] + 120)}
        for tier, key in (("trend", "stuck_trend"), ("problem", "stuck_problem")):
            hold_s = tuple(int(h) for h in holds[tier])
            for _ in range(self.count(key)):
                hold = int(self.rng.integers(*hold_s)) * HZ
                down, up = ramp(v, 0, self.kin.decel_mps2), ramp(0, v, self.kin.accel_mps2)
                slot = self.tl.find_slot(self.rng, down + hold + up)
                if slot is None:
                    continue
                t = slot[0]
                for k, speed in ((t, v), (t + down, 0.0), (t + down + hold, 0.0), (t + down + hold + up, v)):
                    self.tl.knot(k, speed)
                self.tl.occupy(t, t + down + hold + up)
                self.brakes.append({"t": t, "stuck": tier, "end": t + down + hold + up})

    # ---- kinematics ----------------------------------------------------------------------------
    def integrate(self) -> None:
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
        self.s0 = float(self.rng.uniform(0, self.path.length_m))
        self.s = self.s0 + s[:-1]
        self.ds = np.diff(s)
        self.x, self.y, self.h, self.kappa, self.prim = self.path.evaluate(self.s)

    def idx(self, sample: int) -> int:
        return int(sample) - self.tl.start

    def on_straight(self, t: int, length: int, margin: int) -> bool:
        a, b = self.idx(t - margin), self.idx(t + length + margin)
        return a >= 0 and b < self.n and self.prim[a] == self.prim[b] and self.prim[a] % 2 == 0

    # ---- events that leave the speed alone -----------------------------------------------------
    def place_shape_events(self) -> None:
        wv = trigger_params("weaving", self.vehicle.vehicle_class)
        for _ in range(self.count("weaving")):
            freq = self.rng.uniform(0.7, 0.9)
            m = int(round(3 / freq * HZ))
            slot = self.tl.find_slot(self.rng, m, accept=lambda t, n: self.on_straight(t, n, 20))
            if slot and slot[1] >= wv["min_speed_mps"] + 0.5:
                self.tl.occupy(slot[0], slot[0] + m)
                amp = self.rng.uniform(2.0, 3.2) * wv["min_swing_rps"]
                self.weaves.append((slot[0], m, float(amp), 2 * np.pi * freq))
        for _ in range(self.count("output_jitter")):
            m = int(self.rng.integers(8, 17))
            slot = self.tl.find_slot(self.rng, m, accept=lambda t, n: self.on_straight(t, n, 30))
            if slot:
                self.tl.occupy(slot[0], slot[0] + m)
                amp = self.rng.uniform(3.0, 6.0) * trigger_params("output_jitter")["min_abs_steering_deg"]
                self.jitters.append((slot[0], m, float(amp)))
        for _ in range(self.count("uncertainty")):
            m = int(self.rng.integers(6, 21))
            slot = self.tl.find_slot(self.rng, m)
            if slot:
                self.tl.occupy(slot[0], slot[0] + m - 1)
                self.flat.append((slot[0], m))

    def place_markers(self) -> None:
        rng, vid = self.rng, self.vehicle.vehicle_id
        for _ in range(self.count("offline")):
            gap_s = trigger_params("offline")["gap_s"]
            gap = int(rng.integers(gap_s + 10, gap_s + 91)) * HZ
            slot = self.tl.find_slot(rng, gap + HZ)
            if slot:
                a = slot[0] + (-slot[0]) % HZ  # a whole second: the last heartbeat before the gap
                self.tl.occupy(a, a + gap)
                self.offline.append((a, a + gap))
                self.add_truth("offline", a, a + gap, gap_s=gap / HZ)
                if rng.random() < 0.7:
                    self.codes.append((a + HZ, "NET-150", "network"))
        for _ in range(self.count("takeover")):
            dur = int(rng.integers(30, 121)) * HZ
            slot = self.tl.find_slot(rng, dur)
            if not slot:
                continue
            a, b = slot[0], slot[0] + dur
            self.tl.occupy(a, b)
            self.remote.append((a, b))
            to_id = f"TO-{self.tag}-{self.next_id():03d}"
            operator = f"op-{int(rng.integers(1, 13)):02d}"
            self.records["takeover"].append({
                "takeover_id": to_id, "vehicle_id": vid, "ts_start": iso(self.ms(a)), "ts_end": iso(self.ms(b)),
                "operator_id": operator, "channel": str(rng.choice(["joystick", "desktop", "mobile"])),
                "initiator": str(rng.choice(["vehicle_request", "operator"], p=[0.6, 0.4]))})
            self.add_truth("takeover", a, b, takeover_id=to_id)
            if rng.random() < 0.85:
                self.note(a + int(rng.integers(3 * HZ, dur - 3 * HZ)), operator, to_id, rng.random() < 0.65)
        for _ in range(self.count("standalone_note")):
            slot = self.tl.find_slot(rng, 1)
            if slot:
                self.tl.occupy(slot[0], slot[0] + 1)
                self.note(slot[0], f"op-{int(rng.integers(1, 13)):02d}", None, rng.random() < 0.5)
        for call_type in ("call_driver", "call_guard"):
            for _ in range(self.count(call_type)):
                slot = self.tl.find_slot(rng, 1)
                if slot:
                    t = slot[0]
                    self.tl.occupy(t, t + 1)
                    self.records["vehicle_call"].append({"ts": iso(self.ms(t)), "vehicle_id": vid,
                                                         "call_type": call_type,
                                                         "reason": texts.call_reason(call_type, rng)})
                    self.add_truth(call_type, t, t)
        catalog = read_seed("error_code_catalog")
        modules = sorted({r["module"] for r in catalog})
        for _ in range(self.count("error_burst")):
            module = modules[int(rng.integers(len(modules)))]
            eb = trigger_params("error_burst")
            span = int(rng.integers(15, eb["window_s"] - 14)) * HZ
            slot = self.tl.find_slot(rng, span)
            if not slot or not self.code_ok(slot[0] - CODE_SPACING, slot[0] + span + CODE_SPACING, module):
                continue
            a = slot[0]
            n_codes = int(rng.integers(eb["min_codes"], eb["min_codes"] + 4))
            inner = rng.choice(np.arange(a + 1, a + span), n_codes - 2, replace=False)
            times = np.sort(np.concatenate([[a, a + span], inner]))
            codes = [r["code"] for r in catalog if r["module"] == module]
            for t in times.tolist():
                self.codes.append((t, codes[int(rng.integers(len(codes)))], module))
            self.tl.occupy(a, a + span)
            self.add_truth("error_burst", a, a + span, module=module, codes=n_codes)
        for _ in range(self.count("incident")):
            slot = self.tl.find_slot(rng, 1)
            if slot:
                self.tl.occupy(slot[0], slot[0] + 1)
                n = len(self.incidents)
                category = OTHER_INCIDENTS[(self.vehicle.index + 3 * self.day_index + n) % len(OTHER_INCIDENTS)]
                self.incident(slot[0], category)

    def code_ok(self, a: int, b: int, module: str) -> bool:
        return all(not (a <= t <= b) for t, _, m in self.codes if m == module)

    def note(self, t: int, operator: str, takeover_id: str | None, with_keyword: bool) -> None:
        if with_keyword:
            lang, text, tags = texts.keyword_note(self.rng)
        else:
            (lang, text), tags = texts.plain_note(self.rng), []
        self.records["asr_note"].append({"ts": iso(self.ms(t)), "vehicle_id": self.vehicle.vehicle_id,
                                         "operator_id": operator, "takeover_id": takeover_id, "text": text})
        if tags:
            self.add_truth("asr_keyword", t, t, tags=tags, language=lang, takeover_id=takeover_id)

    def incident(self, t: int, category: str, **extra) -> str:
        rng = self.rng
        if category == "vru_fall_no_contact":
            at_fault, injury, police = "ours", bool(rng.random() < 0.5), False
        else:
            choices, p_injury, p_police = INCIDENT_FAULT[category]
            at_fault = choices[int(rng.integers(len(choices)))]
            injury, police = bool(rng.random() < p_injury), bool(rng.random() < p_police)
        inc_id = f"INC-{self.tag}-{self.next_id():03d}"
        description = {"vru_fall_no_contact": "rider behind fell while evading our hard brake; no contact"}.get(
            category, category.replace("_", " "))
        self.records["incident"].append({"incident_id": inc_id, "ts": iso(self.ms(t)),
                                         "vehicle_id": self.vehicle.vehicle_id, "category": category,
                                         "at_fault": at_fault, "injury": injury, "police_report": police,
                                         "description": description})
        self.incidents.append({"incident_id": inc_id, "ts": self.ms(t), "vehicle_id": self.vehicle.vehicle_id,
                               "site_id": self.vehicle.site_id, "category": category, "at_fault": at_fault,
                               "injury": injury, "police_report": police, "version": self.version,
                               "related_truth_id": extra.get("truth_id")})
        self.windows.append((t - CASE_MARGIN, t + CASE_MARGIN))
        return inc_id

    def brake_truths(self) -> None:
        """Truth of hard brakes and stuck episodes, read off the true (noise-free) profile."""
        for b in self.brakes:
            if "stuck" in b:
                i0, i1 = self.idx(b["t"]), self.idx(b["end"])
                below = np.flatnonzero(self.v[i0:i1] < trigger_params("stuck", self.vehicle.vehicle_class)[
                    "max_speed_mps"]) + i0
                a, z = int(self.k[below[0]]), int(self.k[below[-1]])
                self.add_truth("stuck", a, z, tier=b["stuck"], duration_s=(z - a + 1) / HZ)
                continue
            t, d = b["t"], b["d"]
            phantom = b["cause"] == "phantom_obstacle"
            truth_id = self.add_truth("hard_brake", t, t + d - 1, tier=b["tier"], cause=b["cause"],
                                      acc_mps2=round(b["acc"], 2), speed_mps=b["v"], phantom=phantom)
            self.special_tracks += self.event_tracks(b, truth_id)
            if phantom and self.rng.random() < 0.5:
                code_t = t + 5
                if self.code_ok(code_t - CODE_SPACING, code_t + CODE_SPACING, "perception"):
                    self.codes.append((code_t, "PER-205", "perception"))
            if phantom and b["tier"] != "mild" and self.rng.random() < 0.3:
                inc = self.incident(t + d + HZ, "vru_fall_no_contact", truth_id=truth_id)
                row = next(r for r in self.truth if r["truth_id"] == truth_id)
                row["attributes"] = json.dumps(json.loads(row["attributes"]) | {"rider_fall": True,
                                                                                "incident_id": inc}, sort_keys=True)

    def event_tracks(self, b: dict, truth_id: str) -> list[traffic.Track]:
        """The object that caused a brake (phantom, cut-in car, crossing pedestrian) and a following rider."""
        rng, t, lane_w = self.rng, b["t"], self.route.lane_width_m
        ego_s = self.s[self.idx(t)]
        i_end = min(self.n, self.idx(t) + b["d"] + CASE_MARGIN)
        prefix = f"{self.tag}-{truth_id.rsplit('-', 1)[1]}"
        if b["cause"] == "phantom_obstacle":
            life = int(rng.integers(3, 9))
            i0 = t - 2
            s = np.full(life, ego_s + rng.uniform(8, 20))
            tracks = [traffic.Track(f"{prefix}-ph", str(rng.choice(["unknown", "pedestrian"])), self.idx(i0), s,
                                    np.full(life, rng.uniform(-0.5, 0.5)), rng.uniform(0.15, 0.45, life))]
            if b["tier"] != "mild":
                i0 = max(0, self.idx(t) - CASE_MARGIN)
                n = i_end - i0
                tau = (np.arange(n) + i0 - self.idx(t)) / HZ
                v = b["v"]
                stop = v / 5.0
                after = np.where(tau < stop, v * tau - 2.5 * tau ** 2, v * stop - 2.5 * stop ** 2)
                s = ego_s - 7.0 + np.where(tau < 0, v * tau, after)
                tracks.append(traffic.Track(f"{prefix}-rider", str(rng.choice(["cyclist", "tricycle"])), i0, s,
                                            np.full(n, -0.4), np.full(n, 0.9)))
            return tracks
        i0 = max(0, self.idx(t) - 50)
        n = i_end - i0
        tau = (np.arange(n) + i0 - self.idx(t)) / HZ
        if b["cause"] == "cut_in":
            s = ego_s + 10.0 + 0.6 * b["v"] * tau
            lat = np.clip(-tau / 2.0, 0.0, 1.0) * lane_w
            return [traffic.Track(f"{prefix}-cut", "car", i0, s, lat, np.full(n, 0.93))]
        s = np.full(n, ego_s + 15.0)
        lat = -(lane_w / 2 + 2.0) + 1.3 * np.clip(tau + 3.0, 0.0, None)
        return [traffic.Track(f"{prefix}-ped", "pedestrian", i0, s, lat, np.full(n, 0.9), crossing=True)]

    def shape_truths(self) -> None:
        wv = trigger_params("weaving", self.vehicle.vehicle_class)
        for t, m, amp, omega in self.weaves:
            tau = np.arange(m) / HZ
            yaw = amp * np.cos(omega * tau)
            swing = np.flatnonzero(np.abs(yaw) >= wv["min_swing_rps"])
            changes = swing[1:][np.sign(yaw[swing[1:]]) != np.sign(yaw[swing[:-1]])]
            self.add_truth("weaving", t + int(changes[0]), t + int(changes[-1]), sign_changes=int(changes.size),
                           yaw_amplitude_rps=round(amp, 3))
        for t, m, amp in self.jitters:
            sign = np.where((np.arange(m) // 2) % 2 == 0, 1.0, -1.0)
            changes = np.flatnonzero(np.diff(sign) != 0) + 1
            self.add_truth("output_jitter", t + int(changes[0]), t + int(changes[-1]),
                           sign_changes=int(changes.size), amplitude_deg=round(amp, 2))
        for t, m in self.flat:
            self.add_truth("uncertainty", t, t + m - 1, duration_s=m / HZ)

    def isolated_codes(self) -> None:
        catalog = read_seed("error_code_catalog")
        n = self.rng.poisson(ISOLATED_ERROR_CODES_PER_HOUR * (self.tl.end - self.tl.start) / (3600 * HZ))
        for _ in range(n):
            row = catalog[int(self.rng.integers(len(catalog)))]
            t = int(self.rng.integers(self.tl.start, self.tl.end))
            near_event = any(a - 300 <= t <= b + 300 for a, b in self.tl.occupied)
            if not near_event and self.code_ok(t - CODE_SPACING, t + CODE_SPACING, row["module"]):
                self.codes.append((t, row["code"], row["module"]))
        severity = {r["code"]: r["severity"] for r in catalog}
        for t, code, module in sorted(self.codes):
            self.records["error_code"].append({"ts": iso(self.ms(t)), "vehicle_id": self.vehicle.vehicle_id,
                                               "code": code, "module": module, "severity": severity[code]})

    # ---- outputs -------------------------------------------------------------------------------
    def outputs(self) -> DayOutput:
        rng, n, tl = self.rng, self.n, self.tl
        vid = self.vehicle.vehicle_id
        yaw_add, delta, lat = np.zeros(n), np.zeros(n), np.zeros(n)
        for t, m, amp, omega in self.weaves:
            i = self.idx(t)
            tau = np.arange(m) / HZ
            v = self.v[i:i + m]
            yaw_add[i:i + m] = amp * np.cos(omega * tau)
            delta[i:i + m] = amp / omega * np.sin(omega * tau)
            lat[i:i + m] = v * amp / omega ** 2 * (1 - np.cos(omega * tau))
        yaw = self.v * self.kappa + yaw_add
        nx, ny = -np.sin(self.h), np.cos(self.h)
        x = self.x + nx * lat + rng.normal(0, NOISE["xy"], n)
        y = self.y + ny * lat + rng.normal(0, NOISE["xy"], n)
        heading = wrap_angle(self.h + delta + rng.normal(0, NOISE["heading"], n))
        speed = np.maximum(self.v + rng.normal(0, NOISE["speed"], n) * np.minimum(self.v, 1.0), 0.0)
        acc_lon = self.acc + rng.normal(0, NOISE["acc_lon"], n)
        acc_lat = self.v * yaw + rng.normal(0, NOISE["acc_lat"], n)
        yaw_rate = yaw + rng.normal(0, NOISE["yaw"], n)
        kappa_eff = self.kappa + np.where(self.v > 0.5, yaw_add / np.maximum(self.v, 0.5), 0.0)
        steer_clean = STEER_RATIO * np.degrees(np.arctan(float(self.cls["wheelbase_m"]) * kappa_eff))
        steering = steer_clean + rng.normal(0, NOISE["steer"], n)
        max_acc, max_dec = float(self.cls["max_acc_mps2"]), float(self.cls["max_dec_mps2"])
        throttle = np.where(self.acc > 0.05, np.clip(self.acc / max_acc * 100, 0, 100),
                            np.where(self.v > 0.3, 18.0, 0.0))
        brake = np.where(self.acc < -0.05, np.clip(-self.acc / max_dec * 100, 0, 100),
                         np.where(self.v == 0, 30.0, 0.0))
        aeb = np.zeros(n, dtype=bool)
        for b in self.brakes:
            if b.get("tier") == "severe":
                aeb[self.idx(b["t"]):self.idx(b["t"]) + b["d"]] = True

        phase = np.searchsorted(np.array(tl.phase_start), self.k, side="right") - 1
        status = np.array(tl.phase_status)[phase]
        task = np.array(tl.phase_task)[phase]
        mode = np.array(tl.phase_mode)[phase]
        for a, b in self.remote:
            mode[self.idx(a):self.idx(b)] = MODE["remote"]
        task_ids = [None] + [f"{self.tag}-T{i:03d}" for i in range(tl.n_tasks)]
        task_code = np.where(status == 3, 0, task + 1)
        route_code = np.where(status == 3, 0, 1)
        ts_ms = self.day_ms + self.k * 100

        def strings(codes, values):
            """Dictionary-encoded strings; code 0 is null when values[0] is None."""
            codes = np.asarray(codes, dtype=np.int32)
            if values[0] is None:
                indices = pa.array(codes - 1, pa.int32(), mask=codes == 0)
                return pa.DictionaryArray.from_arrays(indices, pa.array(values[1:], pa.string()))
            return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(values, pa.string()))

        pose = pa.table({
            "ts": pa.array(ts_ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "vehicle_id": strings(np.zeros(n, np.int8), [vid]),
            "x_m": x, "y_m": y, "speed_mps": speed, "acc_lon_mps2": acc_lon, "acc_lat_mps2": acc_lat,
            "heading_rad": heading, "yaw_rate_rps": yaw_rate,
            "drive_mode": strings(mode, list(DRIVE_MODES)),
            "steering_deg": steering, "throttle_pct": throttle, "brake_pct": brake, "is_emergency_brake": aeb,
            "task_id": strings(task_code, task_ids),
            "route_id": strings(route_code, [None, self.route.route_id]),
            "task_status": strings(status, list(TASK_STATUSES)),
        })
        planner = self.planner_table(ts_ms, steer_clean, vid)

        hb_idx = np.flatnonzero(self.k % HZ == 0)
        keep = np.ones(hb_idx.size, dtype=bool)
        protected = np.zeros(hb_idx.size, dtype=bool)
        hb_k = self.k[hb_idx]
        for a, b in self.offline:
            keep &= ~((hb_k > a) & (hb_k < b))
            protected |= (np.abs(hb_k - a) <= 5 * HZ) | (np.abs(hb_k - b) <= 5 * HZ)
        hb_idx, protected = hb_idx[keep], protected[keep]
        lat_deg, lon_deg = to_wgs84(*self.origin(), x[hb_idx], y[hb_idx])
        road_types = np.array(self.route.road_types)[self.prim[hb_idx]]
        heartbeat = {
            "ts": iso_array(ts_ms[hb_idx]),
            "vehicle_id": vid,
            "drive_mode": np.array(DRIVE_MODES)[mode[hb_idx]],
            "speed_mps": speed[hb_idx],
            "road_type": road_types,
            "task_id": np.array(task_ids, dtype=object)[task_code[hb_idx]],
            "task_status": np.array(TASK_STATUSES)[status[hb_idx]],
            "city": self.vehicle.city,
            "site_id": self.vehicle.site_id,
            "route_id": np.array([None, self.route.route_id], dtype=object)[route_code[hb_idx]],
            "lat": lat_deg,
            "lon": lon_deg,
        }
        out = DayOutput(vid, pose, planner, heartbeat, protected, self.records, self.perception(ts_ms),
                        self.truth, self.incidents, self.distance(mode))
        return out

    def origin(self) -> tuple[float, float]:
        site = build_world().site(self.vehicle.site_id)
        return site.origin_lat, site.origin_lon

    def planner_table(self, ts_ms: np.ndarray, steer_clean: np.ndarray, vid: str) -> pa.Table:
        rng, n = self.rng, self.n
        top = rng.uniform(0.85, 0.97, n)
        ratios = np.cumprod(rng.uniform(0.3, 0.5, (n, 4)), axis=1)
        scores = np.column_stack([top, top[:, None] * ratios])
        cmd = steer_clean + rng.normal(0, NOISE["cmd_steer"], n)
        for t, m in self.flat:
            i = self.idx(t)
            base = rng.uniform(0.55, 0.7, m)
            gaps = np.cumsum(rng.uniform(0.0, 0.012, (m, 4)), axis=1)
            scores[i:i + m] = np.column_stack([base, base[:, None] - gaps])
        for t, m, amp in self.jitters:
            i = self.idx(t)
            cmd[i:i + m] = amp * np.where((np.arange(m) // 2) % 2 == 0, 1.0, -1.0)
        offsets = pa.array(np.arange(0, 5 * n + 1, 5, dtype=np.int32))
        return pa.table({
            "ts": pa.array(ts_ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "vehicle_id": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([vid])),
            "candidate_scores": pa.ListArray.from_arrays(offsets, pa.array(np.round(scores, 4).ravel())),
            "commanded_steering_deg": cmd,
        })

    def perception(self, ts_ms: np.ndarray) -> pa.Table | None:
        if not self.windows:
            return None
        spans = sorted((max(0, self.idx(a)), min(self.n, self.idx(b) + 1)) for a, b in self.windows)
        merged = [list(spans[0])]
        for a, b in spans[1:]:
            if a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        tracks = []
        for w, (a, b) in enumerate(merged):
            tracks += traffic.background(self.rng, f"{self.tag}-w{w}", self.route.kind, a, b, float(self.s[a]),
                                         self.kin.cruise_mps, self.route.lane_width_m)
        for tr in self.special_tracks:
            keep = min(tr.s.size, self.n - tr.i0)
            tracks.append(traffic.Track(tr.object_id, tr.cls, tr.i0, tr.s[:keep], tr.lat[:keep],
                                        tr.confidence[:keep], tr.reverse, tr.crossing))
        return traffic.to_table(tracks, self.path, ts_ms, self.vehicle.vehicle_id)

    def distance(self, mode: np.ndarray) -> list[dict]:
        """Exact distance (integral of the true speed) and time per drive mode and road type."""
        key = mode * 8 + self.prim
        dist = np.bincount(key, weights=self.ds, minlength=32)
        dur = np.bincount(key, minlength=32)
        groups: dict[tuple[str, str], list[float]] = {}
        for kcode in np.flatnonzero(dur):
            g = groups.setdefault((DRIVE_MODES[kcode // 8], self.route.road_types[kcode % 8]), [0.0, 0])
            g[0] += float(dist[kcode])
            g[1] += int(dur[kcode])
        return [{"vehicle_id": self.vehicle.vehicle_id, "dt": self.day, "drive_mode": m, "road_type": r,
                 "site_id": self.vehicle.site_id, "route_id": self.route.route_id, "version": self.version,
                 "distance_m": d, "duration_s": n / HZ} for (m, r), (d, n) in groups.items()]


def simulate_vehicle_day(plan: FleetPlan, vehicle: Vehicle, day_index: int) -> DayOutput:
    """One vehicle-day, deterministic in (seed, vehicle, day)."""
    day = _Day(plan, vehicle, day_index)
    day.place_speed_events()
    day.integrate()
    day.place_shape_events()
    day.place_markers()
    day.brake_truths()
    day.shape_truths()
    day.isolated_codes()
    return day.outputs()
