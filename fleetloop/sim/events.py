"""Injected events of one vehicle-day: where they go on the timeline, the records they leave in the
event sources, the objects behind them, and their truth rows (mixed into ``vehicle_day._Day``)."""

from __future__ import annotations

import json

import numpy as np

from fleetloop.contract import INCIDENT_CATEGORIES
from fleetloop.definitions import read_seed, trigger_params
from fleetloop.sim import fixes, texts, traffic
from fleetloop.sim.clock import iso
from fleetloop.sim.fleet import ISOLATED_ERROR_CODES_PER_HOUR
from fleetloop.sim.timeline import HZ, ramp

CASE_MARGIN = 15 * HZ  # perception objects are logged 15 s around each injected event
BLOCKER_GAP_M = (2.0, 4.0)  # bumper gap between the standing ego and the vehicle it waits behind
BLOCKER_ACC_MPS2 = 1.5  # that vehicle pulls away faster than the ego accelerates
BLOCKER_LEAD = HZ  # and 1 s before the ego moves
BLOCKER_CLASSES = {"campus": ("tricycle", "car"), "urban": ("car", "truck", "bus"), "highway": ("car", "truck")}
# A car cutting in ahead of a braking ego: it changes lanes in the CUT_IN_LANE_CHANGE_S before the brake at the
# ego's post-brake speed, and pulls away once the ego stops braking (never slower than the ego: the gap never
# shrinks again). Placed so that at the closest point, the end of the brake, a bumper gap of CUT_IN_GAP_M plus
# CUT_IN_HEADWAY_S at that speed is left.
CUT_IN_LANE_CHANGE_S = 2.0
CUT_IN_GAP_M = 2.0
CUT_IN_HEADWAY_S = 0.3
CUT_IN_ACC_MPS2 = 1.5  # pulling away; at least the ego's own acceleration
CUT_IN_AWAY_MPS = 1.0  # it settles this much faster than the ego's cruise speed
# A pedestrian crossing the ego's lane from the right kerb to the far kerb of the lane to the left, stepping off
# PED_LEAD_S before the brake. Placed at least PED_AHEAD_M ahead of the ego's centre, and far enough that the
# ego's front (as driven, brake included) is still PED_GAP_M short of it when it is PED_CLEAR_M past the
# ego's lane edge.
PED_SPEED_MPS = 1.3
PED_LEAD_S = 3.0
PED_KERB_M = 2.0  # kerb to lane edge
PED_AHEAD_M = 15.0
PED_GAP_M = 1.0
PED_CLEAR_M = 0.5
BRAKE_TIERS = ("mild", "hard", "severe")
CODE_SPACING = 90 * HZ  # codes of one module never come 5 in 60 s unless they are a burst
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


class EventsMixin:
    """Event placement and truth; needs the state of ``vehicle_day._Day``."""

    def place_speed_events(self) -> None:
        jobs = ([("phantom_obstacle", (0.3, 0.45, 0.25))] * self.count("hard_brake_phantom")
                + [("other", (0.4, 0.45, 0.15))] * self.count("hard_brake_other"))
        for cause, p in jobs:
            tier = str(self.rng.choice(BRAKE_TIERS, p=p))
            shape = self.brake_shape(self.rng, tier)
            if shape is None:
                continue
            slot = self.tl.find_slot(self.rng, shape[0] + self.brake_recovery(*shape))
            if slot is None:
                continue
            if cause == "other":
                cause = str(self.rng.choice(["cut_in", "pedestrian_crossing"]))
            self.insert_brake(slot[0], *shape, tier, cause)
        for tier, key in (("trend", "stuck_trend"), ("problem", "stuck_problem")):
            for _ in range(self.count(key)):
                hold = self.stuck_hold(self.rng, tier)
                slot = self.tl.find_slot(self.rng, self.stop_length(hold))
                if slot is not None:
                    self.insert_stop(slot[0], hold, tier)

    def brake_shape(self, rng: np.random.Generator, tier: str) -> tuple[int, float] | None:
        """Braking samples and deceleration of a hard brake of ``tier`` from the cruise speed, drawn from ``rng``
        (None when the cruise speed leaves too little to brake from)."""
        hb = trigger_params("hard_brake", self.vehicle.vehicle_class)
        acc = {"mild": (hb["tier_mild_mps2"] + hb["acc_threshold_mps2"]) / 2,
               "hard": (hb["acc_threshold_mps2"] + hb["tier_severe_mps2"]) / 2,
               "severe": max(hb["tier_severe_mps2"] - 0.8, -float(self.cls["max_dec_mps2"]) + 0.1)}[tier]
        d_min = int(np.ceil(hb["min_duration_s"] * HZ)) + 2  # braking samples, with a margin
        d = int(min(rng.integers(d_min + 1, d_min + 8), np.floor((self.kin.cruise_mps - 0.8) / -acc * HZ)))
        return (d, acc) if d >= d_min else None

    def brake_recovery(self, d: int, acc: float) -> int:
        """Samples back up to the cruise speed after ``d`` samples at ``acc``."""
        return ramp(self.kin.cruise_mps + acc * d / HZ, self.kin.cruise_mps, self.kin.accel_mps2)

    def insert_brake(self, t: int, d: int, acc: float, tier: str, cause: str, **extra) -> dict:
        """A hard brake from the cruise speed at sample ``t`` (inside a free cruise span); ``extra`` is kept
        with it (a problem family's member: ``problem``, ``episode_end``, ``phantom_s``)."""
        v = self.kin.cruise_mps
        v1 = v + acc * d / HZ
        rec = self.brake_recovery(d, acc)
        self.tl.knot(t, v)
        self.tl.knot(t + d, v1)
        self.tl.knot(t + d + rec, v)
        self.tl.occupy(t, t + d + rec)
        self.brakes.append({"t": t, "d": d, "acc": acc, "tier": tier, "cause": cause, "v": v, "v1": v1} | extra)
        return self.brakes[-1]

    def stuck_hold(self, rng: np.random.Generator, tier: str) -> int:
        """Standing samples of a stuck episode of ``tier``, drawn from ``rng``."""
        st = trigger_params("stuck", self.vehicle.vehicle_class)
        holds = {"trend": (st["trend_s"] + 15, st["problem_s"] - 30),
                 "problem": (st["problem_s"] + 20, st["problem_s"] + 120)}
        return int(rng.integers(*(int(h) for h in holds[tier]))) * HZ

    def stop_length(self, hold: int, creep: tuple[float, int] | None = None) -> int:
        """Samples of a stop from cruise, ``hold`` standing and back up to cruise (through ``creep``: a creeping
        speed and its samples)."""
        v, acc = self.kin.cruise_mps, self.kin.accel_mps2
        up = ramp(0, v, acc) if creep is None else ramp(0, creep[0], acc) + creep[1] + ramp(creep[0], v, acc)
        return ramp(v, 0, self.kin.decel_mps2) + hold + up

    def insert_stop(self, t: int, hold: int, tier: str, creep: tuple[float, int] | None = None, **extra) -> dict:
        """A stuck episode from sample ``t`` (inside a free cruise span): stop, stand ``hold`` samples, move on
        (first creeping at ``creep`` = (speed, samples) when given); ``extra`` as for ``insert_brake``."""
        v, acc = self.kin.cruise_mps, self.kin.accel_mps2
        stop = t + ramp(v, 0, self.kin.decel_mps2)
        go = stop + hold
        end = t + self.stop_length(hold, creep)
        knots = [(t, v), (stop, 0.0), (go, 0.0), (end, v)]
        if creep is not None:
            creep_from = go + ramp(0, creep[0], acc)
            knots[3:3] = [(creep_from, creep[0]), (creep_from + creep[1], creep[0])]
        for k, speed in knots:
            self.tl.knot(k, speed)
        self.tl.occupy(t, end)
        self.brakes.append({"t": t, "stuck": tier, "stop": stop, "go": go, "end": end} | extra)
        return self.brakes[-1]

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

    def incident(self, t: int, category: str, rng: np.random.Generator | None = None, **extra) -> str:
        """An incident record and its truth (fault and outcome drawn from ``rng``, default the day's)."""
        rng = self.rng if rng is None else rng
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
                # a problem family says whether its members wait behind a vehicle; others draw it
                blocked = (b["blocker"] is not None if "blocker" in b
                           else self.label_rng.random() < fixes.BLOCKED_STUCK_SHARE)
                truth_id = self.add_truth("stuck", a, z, tier=b["stuck"], family="stuck_blocked" if blocked else
                                          "stuck_clear", duration_s=(z - a + 1) / HZ, **self.problem_attrs(b))
                if blocked:
                    self.special_tracks.append(self.blocker_track(b, truth_id))
                    self.truth_row(truth_id)["obstacle_id"] = self.special_tracks[-1].object_id
                self.add_episode(b, truth_id, a, z)
                continue
            t, d = b["t"], b["d"]
            rng = self.event_rng(b)
            phantom = b["cause"] == "phantom_obstacle"
            truth_id = self.add_truth("hard_brake", t, t + d - 1, tier=b["tier"], cause=b["cause"],
                                      family=fixes.BRAKE_FAMILIES[b["cause"]], acc_mps2=round(b["acc"], 2),
                                      speed_mps=b["v"], phantom=phantom, **self.problem_attrs(b))
            tracks = self.event_tracks(b, truth_id)
            self.truth_row(truth_id)["obstacle_id"] = tracks[0].object_id
            self.special_tracks += tracks
            self.add_episode(b, truth_id, t, b.get("episode_end", t + d - 1))
            if phantom and rng.random() < 0.5:
                code_t = t + 5
                if self.code_ok(code_t - CODE_SPACING, code_t + CODE_SPACING, "perception"):
                    self.codes.append((code_t, "PER-205", "perception"))
            if phantom and b["tier"] != "mild" and rng.random() < 0.3:
                inc = self.incident(t + d + HZ, "vru_fall_no_contact", rng, truth_id=truth_id)
                row = self.truth_row(truth_id)
                row["attributes"] = json.dumps(json.loads(row["attributes"]) | {"rider_fall": True,
                                                                                "incident_id": inc}, sort_keys=True)

    def event_tracks(self, b: dict, truth_id: str) -> list[traffic.Track]:
        """The object that caused a brake (phantom, cut-in car, crossing pedestrian) and a following rider; a
        problem family's phantom stands where it says (``phantom_s``)."""
        rng, t, lane_w = self.event_rng(b), b["t"], self.route.lane_width_m
        ego_s = self.s[self.idx(t)]
        i_end = min(self.n, self.idx(t) + b["d"] + CASE_MARGIN)
        prefix = f"{self.tag}-{truth_id.rsplit('-', 1)[1]}"
        if b["cause"] == "phantom_obstacle":
            life = int(rng.integers(3, 9))
            i0 = t - 2
            s = np.full(life, b["phantom_s"] if "phantom_s" in b else ego_s + rng.uniform(8, 20))
            tracks = [traffic.Track(f"{prefix}-ph", str(rng.choice(["unknown", "pedestrian"])), self.idx(i0), s,
                                    np.full(life, rng.uniform(-0.5, 0.5)), rng.uniform(0.15, 0.45, life),
                                    real=False)]
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
        ego_s_m = self.s[i0:i0 + n]
        if b["cause"] == "cut_in":
            return [traffic.Track(f"{prefix}-cut", "car", i0, self.cut_in_s(b, tau, ego_s_m),
                                  np.clip(-tau / CUT_IN_LANE_CHANGE_S, 0.0, 1.0) * lane_w, np.full(n, 0.93))]
        half_m = traffic.SIZES["pedestrian"][0] / 2
        lat = np.minimum(-(lane_w / 2 + PED_KERB_M) + PED_SPEED_MPS * np.clip(tau + PED_LEAD_S, 0.0, None),
                         1.5 * lane_w + PED_KERB_M)
        clear = np.flatnonzero(lat - half_m >= lane_w / 2 + PED_CLEAR_M)
        ego_front_m = ego_s_m[clear[0] if clear.size else -1] + float(self.cls["length_m"]) / 2
        s = np.full(n, max(ego_s + PED_AHEAD_M, ego_front_m + PED_GAP_M + half_m))
        return [traffic.Track(f"{prefix}-ped", "pedestrian", i0, s, lat, np.full(n, 0.9), crossing=True)]

    def cut_in_s(self, b: dict, tau: np.ndarray, ego_s_m: np.ndarray) -> np.ndarray:
        """Arc length of the cut-in car at ``tau`` s from the brake: the ego's post-brake speed until the brake
        ends, then CUT_IN_ACC_MPS2 up to CUT_IN_AWAY_MPS above the ego's cruise; ``ego_s_m`` is the ego's."""
        v1, brake_s = b["v1"], b["d"] / HZ
        acc = max(CUT_IN_ACC_MPS2, self.kin.accel_mps2)
        up_s = (b["v"] + CUT_IN_AWAY_MPS - v1) / acc
        after = np.clip(tau - brake_s, 0.0, up_s)
        rel = v1 * tau + acc / 2 * after ** 2 + acc * up_s * np.clip(tau - brake_s - up_s, 0.0, None)
        centres_m = (float(self.cls["length_m"]) + traffic.SIZES["car"][0]) / 2
        need = centres_m + CUT_IN_GAP_M + CUT_IN_HEADWAY_S * v1
        in_lane = tau > -CUT_IN_LANE_CHANGE_S
        return rel + need - np.min(rel[in_lane] - ego_s_m[in_lane])

    def blocker_track(self, b: dict, truth_id: str) -> traffic.Track:
        """A vehicle stopped in the ego's lane just ahead of where the ego stands, from before the ego brakes
        until it pulls away shortly before the ego moves on (drawn from ``label_rng``; a problem family's member
        names its blocker's class and draws from the family generator)."""
        rng = self.label_rng if "problem" not in b else self.event_rng(b)
        cls = b.get("blocker") or str(rng.choice(BLOCKER_CLASSES[self.route.kind]))
        i0 = max(0, self.idx(b["t"]) - CASE_MARGIN)
        n = min(self.n, self.idx(b["end"]) + CASE_MARGIN) - i0
        rear_gap = float(self.cls["length_m"]) / 2 + rng.uniform(*BLOCKER_GAP_M) + traffic.SIZES[cls][0] / 2
        tau = np.clip((np.arange(n) + i0 - self.idx(b["go"] - BLOCKER_LEAD)) / HZ, 0.0, None)  # since pulling away
        v_mps, t_cruise = self.kin.cruise_mps, self.kin.cruise_mps / BLOCKER_ACC_MPS2
        gone = np.where(tau < t_cruise, BLOCKER_ACC_MPS2 / 2 * tau ** 2,
                        BLOCKER_ACC_MPS2 / 2 * t_cruise ** 2 + v_mps * (tau - t_cruise))
        s = self.s[self.idx(b["stop"])] + rear_gap + gone
        prefix = f"{self.tag}-{truth_id.rsplit('-', 1)[1]}"
        return traffic.Track(f"{prefix}-blk", cls, i0, s, np.zeros(n), rng.uniform(0.85, 0.97, n))

    def shape_truths(self) -> None:
        wv = trigger_params("weaving", self.vehicle.vehicle_class)
        for t, m, amp, omega in self.weaves:
            tau = np.arange(m) / HZ
            i = self.idx(t)
            yaw = self.v[i:i + m] * self.kappa[i:i + m] + amp * np.cos(omega * tau)  # on a curve, around its rate
            swing = np.flatnonzero(np.abs(yaw) >= wv["min_swing_rps"])
            changes = swing[1:][np.sign(yaw[swing[1:]]) != np.sign(yaw[swing[:-1]])]
            b = self.problem_weaves.get(t, {})
            a, z = t + int(changes[0]), t + int(changes[-1])
            truth_id = self.add_truth("weaving", a, z, sign_changes=int(changes.size),
                                      yaw_amplitude_rps=round(amp, 3), **self.problem_attrs(b))
            self.add_episode(b, truth_id, a, z)
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
