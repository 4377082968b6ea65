"""The world around the ego at every driven second: map context, traffic lights, ambient traffic, injected
scenes (cut-ins, jaywalkers, unprotected left turns, dense mixed traffic), the uploaded 1 Hz perception summary
and environment, and the truth of all of it (mixed into ``vehicle_day._Day``).

In case windows (where ``perception_objects`` is logged) the world is the logged tracks, so the summary is their
projection; elsewhere it is ambient traffic and the injected scenes, kept out of case windows. Ambient traffic
is sparse by construction (at most ``AMBIENT_MAX`` vehicles and as many vulnerable road users at a time), so
dense mixed traffic only happens where it is injected or in a busy case window. Everything here draws from the
vehicle-day's ``scene_rng``: the existing sources and their truth do not change.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fleetloop.contract import COUNT_RADII_M, COUNTED_CLASSES, OBJECT_CLASSES
from fleetloop.mining.features import LANE_CHANGES, count_column
from fleetloop.sim import environment, traffic
from fleetloop.sim.clock import iso_array
from fleetloop.sim.events import CUT_IN_LANE_CHANGE_S, PED_LEAD_S
from fleetloop.sim.geometry import wrap_angle
from fleetloop.sim.timeline import HZ, STATUS
from fleetloop.sim.world import build_world, segment_features
from fleetloop.triggers.interaction import interaction_triggers

VRU_CLASSES = ("pedestrian", "cyclist", "tricycle", "scooter")
VEHICLE_CLASSES = traffic.VEHICLES
AMBIENT_CHUNK_S = 20  # ambient road users live for one chunk of driven seconds
AMBIENT_MAX = 2  # vehicles, and separately VRUs, per chunk
LEAD_SHARE = 0.5  # chunks with a lead object in the ego lane
LEAD_GAP_M = (8.0, 45.0)
LEAD_SPEED_FACTOR = (1.02, 1.15)  # of the ego's fastest speed in the chunk: a lead never closes in
LEAD_MIX = {"campus": ("cyclist", "tricycle", "scooter"), "urban": ("car", "truck", "bus", "tricycle"),
            "highway": ("car", "truck", "bus")}
KERB_OFFSET_M = (0.5, 2.0)  # VRUs in the mixed (non-motor) lane right of the ego lane
CONFIDENCE = (0.75, 0.97)
PERCEPTION_RANGE_M = 150.0  # the lead object and the nearest VRU are looked for within this distance
MIN_HEADWAY_SPEED_MPS = 0.5  # time headway is null below this ego speed
TRACK_GAP_S = 1.0  # a track seen again after a longer gap is a new acquisition (its age starts again)
ONCOMING_RADIUS_M = 50.0  # oncoming: moving against the ego's direction in the opposing lanes
ONCOMING_MIN_SPEED_MPS = 0.5
ONCOMING_MIN_LAT_LANES = 1.5  # left of the passing lane's centre
TL_RANGE_M = 150.0  # a traffic light is "ahead" within this distance of the ego's front
TL_GREEN_S, TL_RED_S, TL_AMBER_S = (2.0, 12.0), (15.0, 30.0), 3.0  # the phases before the ego's arrival (green)
DENSE_RADIUS_M = 30
DENSE_MIN_VRU = 3  # truth: dense mixed traffic = this many VRUs and DENSE_MIN_VEHICLES vehicles within 30 m
DENSE_MIN_VEHICLES = 3
# injected scenes per driven hour (cut-ins, jaywalkers), per chance (unprotected lefts, dense stops)
CUT_IN_PER_HOUR = 1.5
CUT_IN_GAP_M = (4.0, 12.0)  # ego front to car rear as the car enters the lane
CUT_IN_FASTER_MPS = (1.0, 3.0)
CUT_IN_LIFE_S = (8.0, 10.0)  # before and after the lane change starts
JAYWALKERS_PER_HOUR = 1.5
JAYWALK_SPEED_MPS = 1.3
JAYWALK_KERB_M = 2.0
JAYWALK_MARGIN_S = 1.5  # the pedestrian has left the ego's path this long before the ego's front arrives
UNPROTECTED_LEFT_SHARE = 0.35  # of the passes through an unsignalised left-turn junction
ONCOMING_SPEED_MPS = (2.0, 4.0)
ONCOMING_MIX = {"campus": ("cyclist", "tricycle", "scooter"), "urban": ("car", "truck")}
DENSE_STOP_SHARE = 0.3  # of the ego's traffic stops in campus and urban routes
DENSE_VRUS, DENSE_VEHICLES = (4, 7), (4, 6)
DENSE_OFFSET_M = 20.0
MIN_STOP_S = 10
SCENE_KINDS = ("jaywalker", *interaction_triggers())  # the truth of the catalog's high-interaction triggers too

CLASS_CODE = {c: i for i, c in enumerate(OBJECT_CLASSES)}
COUNTED = np.array([CLASS_CODE[c] for c in COUNTED_CLASSES])
IS_VRU = np.isin(np.arange(len(OBJECT_CLASSES)), [CLASS_CODE[c] for c in VRU_CLASSES])
IS_VEHICLE = np.isin(np.arange(len(OBJECT_CLASSES)), [CLASS_CODE[c] for c in VEHICLE_CLASSES])
LENGTHS = np.array([traffic.SIZES[c][0] for c in OBJECT_CLASSES])


class ScenesMixin:
    """Scene world, summary and truth; needs the state of ``vehicle_day._Day`` after integration."""

    def scene_outputs(self, status: np.ndarray, pose: dict, hb_idx: np.ndarray, case: list) -> dict:
        """Uploaded perception summary and environment, scene-second truth and injected scenes.

        ``pose``: per-sample noisy ``x``, ``y``, ``heading``, ``speed``, the true lateral offset ``lat`` and the
        ``drive_mode``;
        ``hb_idx``: samples that got a heartbeat (offline gaps removed); ``case``: the logged tracks."""
        whole = np.flatnonzero(self.k % HZ == 0)
        driven = whole[status[whole] == STATUS["driving"]]
        secs = self.k[driven] // HZ  # seconds after 00:00 UTC, as every ``sec`` here
        self.scenes: list[dict] = []
        rows = [self.track_rows(case)]
        case_secs = np.unique(rows[0]["sec"])
        self.case_secs = case_secs
        rows.append(self.ambient_rows(driven, case_secs))
        rows += self.injected_rows(driven, status, case_secs)
        table = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        keep_case = np.isin(table["sec"], case_secs) == table["logged"]
        table = {k: v[keep_case] for k, v in table.items()}
        table["age"] = _track_age(table["track"], table["t"])
        nx, ny = -np.sin(self.h), np.cos(self.h)
        true_pose = {"x": self.x + nx * pose["lat"], "y": self.y + ny * pose["lat"], "heading": self.h,
                     "speed": self.v}
        uploaded = self.summarise(table, secs, driven, pose, real_only=False)
        truth = self.summarise(table, secs, driven, true_pose, real_only=True)
        context = self.map_context(self.s[driven])
        lights = self.light_ahead(driven, secs)
        env_secs = self.k[hb_idx] // HZ
        env_all = self.environment(np.union1d(secs, env_secs))
        return {
            "summary": self.summary_columns(secs, uploaded, lights, np.isin(driven, hb_idx)),
            "environment": self.environment_columns(env_secs, env_all),
            "truth": self.truth_table(secs, driven, truth, context, lights, env_all, np.isin(driven, hb_idx),
                                      pose["drive_mode"][driven], uploaded),
            "scenes": self.scenes,
        }

    # ---- road users as rows (one per object and sample) ------------------------------------------------
    def track_rows(self, tracks: list[traffic.Track]) -> dict:
        """Rows of the logged (10 Hz) tracks: every sample, ``whole`` where it falls on a whole second."""
        parts = []
        for tr in tracks:
            n = tr.s.size
            i = tr.i0 + np.arange(n)
            v = np.gradient(tr.s) * HZ if n > 1 else np.zeros(n)
            parts.append(_rows(self.k[i] // HZ, CLASS_CODE[tr.cls], tr.s, tr.lat, v, tr.confidence, tr.object_id,
                               whole=self.k[i] % HZ == 0, logged=True, real=tr.real, flicker=n < HZ,
                               t=self.k[i] / HZ))
        return _concat(parts)

    def ambient_rows(self, driven: np.ndarray, case_secs: np.ndarray) -> dict:
        """Sparse ambient road users of the kind's mix, chunk by chunk of driven seconds."""
        rng, kind, lane_w = self.scene_rng, self.route.kind, self.route.lane_width_m
        mix = traffic.MIX[kind]
        vru_mix = {c: p for c, p in mix.items() if c in VRU_CLASSES}
        veh_mix = {c: p for c, p in mix.items() if c in VEHICLE_CLASSES}
        parts = []
        runs = np.split(driven, np.flatnonzero(np.diff(driven) != HZ) + 1)  # contiguous driving
        for i in (run[c0:c0 + AMBIENT_CHUNK_S] for run in runs for c0 in range(0, run.size, AMBIENT_CHUNK_S)):
            tau = (self.k[i] - self.k[i[0]]) / HZ
            s_ego = self.s[i[0]]
            objects = []  # (class, lat, speed along, offset at tau 0)
            if rng.random() < LEAD_SHARE:
                cls = str(rng.choice(LEAD_MIX[kind]))
                gap = rng.uniform(*LEAD_GAP_M) + (float(self.cls["length_m"]) + traffic.SIZES[cls][0]) / 2
                objects.append((cls, 0.0, max(self.v[i].max(), 1.0) * rng.uniform(*LEAD_SPEED_FACTOR), gap))
            for group, lat in ((veh_mix, lane_w), (vru_mix, None)):
                if not group:
                    continue
                p = np.array(list(group.values()))
                for cls in rng.choice(list(group), size=int(rng.integers(0, AMBIENT_MAX + 1)), p=p / p.sum()):
                    if lat is None:
                        speed = rng.uniform(*traffic.SPEEDS[cls]) * (1 if rng.random() < 0.5 else -1)
                        objects.append((cls, -(lane_w / 2 + rng.uniform(*KERB_OFFSET_M)), speed,
                                        rng.uniform(-50, 60)))
                    else:
                        objects.append((cls, lat, self.kin.cruise_mps * rng.uniform(0.8, 1.2), rng.uniform(-50, 60)))
            for cls, lat, speed, offset in objects:
                parts.append(_rows(self.k[i] // HZ, CLASS_CODE[cls], s_ego + offset + speed * tau,
                                   np.full(i.size, lat), np.full(i.size, speed), np.full(i.size,
                                                                                         rng.uniform(*CONFIDENCE)),
                                   f"{self.tag}-a{len(parts)}"))
        return _concat(parts)

    def injected_rows(self, driven: np.ndarray, status: np.ndarray, case_secs: np.ndarray) -> list[dict]:
        """Cut-ins, jaywalkers, unprotected left turns and dense mixed traffic, outside case windows."""
        hours = driven.size / 3600
        out = []
        out += [self.cut_in(case_secs) for _ in range(self.scene_rng.poisson(CUT_IN_PER_HOUR * hours))]
        if self.route.kind != "highway":
            out += [self.jaywalker(case_secs) for _ in range(self.scene_rng.poisson(JAYWALKERS_PER_HOUR * hours))]
            out += self.unprotected_lefts(driven, case_secs)
            out += self.dense_stops(driven, status, case_secs)
        self.scenes += self.event_scenes()
        return [r for r in out if r is not None]

    def free_slot(self, length: int, case_secs: np.ndarray, lead: int = 0):
        """A cruise slot (start sample, speed) clear of events, other scenes and case windows."""
        def clear(t: int, m: int) -> bool:
            secs = np.arange((t - lead) // HZ, (t + m) // HZ + 2)
            return not np.isin(secs, case_secs).any()

        slot = self.tl.find_slot(self.scene_rng, length, lead=lead, accept=clear)
        if slot is not None:
            self.tl.occupy(slot[0] - lead, slot[0] + length)
        return slot

    def cut_in(self, case_secs: np.ndarray) -> dict | None:
        rng, lane_w = self.scene_rng, self.route.lane_width_m
        before, after = (int(x * HZ) for x in CUT_IN_LIFE_S)
        slot = self.free_slot(before + after, case_secs)
        if slot is None:
            return None
        t0, v = _whole(slot[0] + before), slot[1]
        i = np.arange(self.idx(t0) - before, self.idx(t0) + after, HZ)
        tau = (i - self.idx(t0)) / HZ
        cls = "car" if self.route.kind != "campus" else "scooter"
        speed = v + rng.uniform(*CUT_IN_FASTER_MPS)
        need = (float(self.cls["length_m"]) + traffic.SIZES[cls][0]) / 2 + rng.uniform(*CUT_IN_GAP_M)
        lat = np.clip(1 - tau / CUT_IN_LANE_CHANGE_S, 0.0, 1.0) * lane_w
        self.add_scene("cut_in", t0, t0 + int(CUT_IN_LANE_CHANGE_S * HZ), cls)
        return _rows(self.k[i] // HZ, CLASS_CODE[cls], self.s[self.idx(t0)] + need + speed * tau, lat,
                     np.full(i.size, speed), np.full(i.size, 0.9), self.scene_track())

    def jaywalker(self, case_secs: np.ndarray) -> dict | None:
        """A pedestrian crossing mid-block from the right kerb, clear of the ego's path before it arrives."""
        lane_w, half_ped = self.route.lane_width_m, traffic.SIZES["pedestrian"][0] / 2
        lat0, lat1 = -(lane_w / 2 + JAYWALK_KERB_M), 1.5 * lane_w + JAYWALK_KERB_M
        cleared_s = (float(self.cls["width_m"]) / 2 + half_ped + 0.5 - lat0) / JAYWALK_SPEED_MPS
        walk_s = (lat1 - lat0) / JAYWALK_SPEED_MPS
        life = int((walk_s + 2 * PED_LEAD_S) * HZ)
        slot = self.free_slot(life, case_secs)
        if slot is None:
            return None
        t0, v = _whole(slot[0] + int(PED_LEAD_S * HZ)), slot[1]
        ahead = float(self.cls["length_m"]) / 2 + half_ped + v * (cleared_s + JAYWALK_MARGIN_S)
        s_ped = self.s[self.idx(t0)] + ahead
        context = self.map_context(np.array([s_ped]))
        if context["in_junction"][0] or self.on_crosswalk(np.array([s_ped]), 0.0)[0]:
            return None
        i = np.arange(self.idx(t0) - int(PED_LEAD_S * HZ), self.idx(t0) + int((walk_s + PED_LEAD_S) * HZ), HZ)
        tau = (i - self.idx(t0)) / HZ
        lat = np.clip(lat0 + JAYWALK_SPEED_MPS * np.clip(tau, 0, None), lat0, lat1)
        self.add_scene("jaywalker", t0, t0 + int(cleared_s * HZ), "pedestrian")
        return _rows(self.k[i] // HZ, CLASS_CODE["pedestrian"], np.full(i.size, s_ped), lat, np.zeros(i.size),
                     np.full(i.size, 0.9), self.scene_track())

    def unprotected_lefts(self, driven: np.ndarray, case_secs: np.ndarray) -> list[dict]:
        """Oncoming road users met in some passes through unsignalised left-turn junctions."""
        rng, out = self.scene_rng, []
        ctx = self.map_context(self.s[driven])
        left = ctx["in_junction"] & (ctx["turn"] == "left") & ~ctx["junction_signalised"].astype(bool)
        starts = np.flatnonzero(left & ~np.concatenate([[False], left[:-1]]))
        for a in starts.tolist():
            b = a
            while b + 1 < left.size and left[b + 1] and driven[b + 1] - driven[b] == HZ:
                b += 1
            secs = self.k[driven[a:b + 1]] // HZ
            if (rng.random() >= UNPROTECTED_LEFT_SHARE or np.isin(np.arange(secs[0] - 10, secs[-1] + 11),
                                                                   case_secs).any()
                    or self.v[driven[a]] < 1.0):
                continue
            i = np.arange(driven[a] - 10 * HZ, driven[b] + 10 * HZ + 1, HZ)
            i = i[(i >= 0) & (i < self.n)]
            mid = (self.s[driven[a]] + self.s[driven[b]]) / 2
            cls = str(rng.choice(ONCOMING_MIX[self.route.kind]))
            speed = rng.uniform(*ONCOMING_SPEED_MPS)
            tau = (i - driven[a]) / HZ
            self.add_scene("unprotected_left", int(self.k[driven[a]]), int(self.k[driven[b]]), cls)
            out.append(_rows(self.k[i] // HZ, CLASS_CODE[cls], mid - speed * tau,
                             np.full(i.size, 2 * self.route.lane_width_m), np.full(i.size, -speed),
                             np.full(i.size, 0.9), self.scene_track()))
        return out

    def dense_stops(self, driven: np.ndarray, status: np.ndarray, case_secs: np.ndarray) -> list[dict]:
        """Mixed traffic crowding around some of the ego's traffic stops (standing VRUs and vehicles)."""
        rng, lane_w, out = self.scene_rng, self.route.lane_width_m, []
        stopped = self.v[driven] == 0.0
        starts = np.flatnonzero(stopped & ~np.concatenate([[False], stopped[:-1]]))
        for a in starts.tolist():
            b = a
            while b + 1 < stopped.size and stopped[b + 1] and driven[b + 1] - driven[b] == HZ:
                b += 1
            secs = self.k[driven[a:b + 1]] // HZ
            if (b - a + 1 < MIN_STOP_S or rng.random() >= DENSE_STOP_SHARE
                    or np.isin(np.arange(secs[0] - 5, secs[-1] + 6), case_secs).any()):
                continue
            i = driven[a:b + 1]
            s_ego = self.s[i[0]]
            self.add_scene("dense_mixed_traffic", int(self.k[i[0]]), int(self.k[i[-1]]), "mixed")
            n_vru, n_veh = int(rng.integers(*DENSE_VRUS)), int(rng.integers(*DENSE_VEHICLES))
            vrus = [str(c) for c in rng.choice(VRU_CLASSES, n_vru)]
            vehicles = [str(c) for c in rng.choice(("car", "car", "truck", "bus"), n_veh)]
            for j, cls in enumerate(vrus + vehicles):
                lat = (-(lane_w / 2 + rng.uniform(*KERB_OFFSET_M)) if j < n_vru
                       else lane_w * float(rng.choice([1.0, 2.0])))
                out.append(_rows(secs, CLASS_CODE[cls], np.full(i.size, s_ego + rng.uniform(-DENSE_OFFSET_M,
                                                                                          DENSE_OFFSET_M)),
                                 np.full(i.size, lat), np.zeros(i.size), np.full(i.size, rng.uniform(*CONFIDENCE)),
                                 self.scene_track(j)))
        return out

    def event_scenes(self) -> list[dict]:
        """The cut-ins and crossing pedestrians behind injected hard brakes are scenes too."""
        out = []
        for b in self.brakes:
            if b.get("cause") == "cut_in":
                out.append(self.scene_row("cut_in", b["t"] - int(CUT_IN_LANE_CHANGE_S * HZ), b["t"], "car"))
            elif b.get("cause") == "pedestrian_crossing":
                out.append(self.scene_row("jaywalker", b["t"] - int(PED_LEAD_S * HZ), b["t"], "pedestrian"))
        return out

    def scene_track(self, j: int | None = None) -> str:
        """Track id of road user ``j`` (or the one road user) of the last scene added."""
        return f"{self.tag}-s{len(self.scenes)}" + ("" if j is None else f"-{j}")

    def add_scene(self, kind: str, a: int, b: int, obj: str) -> None:
        self.scenes.append(self.scene_row(kind, a, b, obj))

    def scene_row(self, kind: str, a: int, b: int, obj: str) -> dict:
        """A scene from sample a to sample b (inclusive), as whole seconds."""
        return {"vehicle_id": self.vehicle.vehicle_id, "site_id": self.vehicle.site_id, "kind": kind,
                "ts_start": self.day_ms + (a // HZ) * 1000, "ts_end": self.day_ms + (b // HZ) * 1000,
                "object_class": obj}

    # ---- map, lights, environment ---------------------------------------------------------------------
    def map_context(self, s: np.ndarray) -> dict[str, np.ndarray]:
        """Map features at the ego's arc lengths (centre): in_junction, junction_id, junction_signalised,
        in_merge, turn."""
        path = self.path
        s_mod = np.mod(s, path.length_m)
        prim = np.searchsorted(path.s0, s_mod, side="right") - 1
        out = {"junction_id": np.full(s.size, None, dtype=object),
               "junction_signalised": np.full(s.size, None, dtype=object),
               "merge": np.zeros(s.size, bool), "turn": np.full(s.size, "straight", dtype=object)}
        for p in np.unique(prim).tolist():
            m = prim == p
            f = segment_features(self.route, p, s_mod[m] - path.s0[p])
            for k in out:
                out[k][m] = f[k]
        return {"in_junction": out["junction_id"] != None, "junction_id": out["junction_id"],  # noqa: E711
                "junction_signalised": out["junction_signalised"], "in_merge": out["merge"], "turn": out["turn"]}

    def on_crosswalk(self, s: np.ndarray, half_length_m: float) -> np.ndarray:
        """The footprint [s - half, s + half] overlaps a crosswalk."""
        s_mod = np.mod(s, self.path.length_m)
        out = np.zeros(s.size, bool)
        for f in self.route.features:
            if f.kind == "crosswalk":
                a = self.path.s0[f.prim] + f.u0_m
                out |= (s_mod - half_length_m < a + (f.u1_m - f.u0_m)) & (s_mod + half_length_m > a)
        return out

    def light_ahead(self, driven: np.ndarray, secs: np.ndarray) -> dict[str, np.ndarray]:
        """State of and distance (ego front to stop line) to the next signalised junction within TL_RANGE_M.
        Each approach runs green, amber, red, then green for the ego's arrival: the ego never runs a red."""
        rng, path = self.scene_rng, self.path
        half = float(self.cls["length_m"]) / 2
        stops = np.array(sorted(path.s0[f.prim] + f.u0_m for f in self.route.features
                                if f.kind == "junction" and f.signalised))
        state = np.full(secs.size, None, dtype=object)
        dist = np.full(secs.size, np.nan)
        if stops.size == 0 or secs.size == 0:
            return {"tl_state": state, "tl_distance_m": dist}
        front = self.s + half
        laps = np.arange(int(front[0] // path.length_m), int(front[-1] // path.length_m) + 2)
        lines = (stops[None, :] + laps[:, None] * path.length_m).ravel()
        arrival = np.searchsorted(front, lines)  # first sample at or past the line; n when never
        arrival_s = np.where(arrival < self.n, self.k[np.minimum(arrival, self.n - 1)] / HZ, np.inf)
        green = rng.uniform(*TL_GREEN_S, lines.size)
        red = rng.uniform(*TL_RED_S, lines.size)
        f_sec = front[driven]
        j = np.searchsorted(lines, f_sec, side="right")
        ok = j < lines.size
        d = np.where(ok, lines[np.minimum(j, lines.size - 1)] - f_sec, np.inf)
        ahead = d <= TL_RANGE_M
        jj = np.minimum(j, lines.size - 1)
        to_arrival = arrival_s[jj] - secs
        phase = np.where(to_arrival <= green[jj], "green", np.where(
            to_arrival <= green[jj] + red[jj], "red", np.where(to_arrival <= green[jj] + red[jj] + TL_AMBER_S,
                                                               "amber", "green")))
        state[ahead] = phase[ahead]
        dist[ahead] = d[ahead]
        return {"tl_state": state, "tl_distance_m": dist}

    def environment(self, secs: np.ndarray) -> dict[str, np.ndarray]:
        """True weather and light and the sensor values at day seconds ``secs``."""
        site = build_world().site(self.vehicle.site_id)
        base_temp, _ = environment.CLIMATES[site.city]
        weather = environment.weather_at(secs, self.plan.weather(self.vehicle.site_id, self.day_index))
        lux = environment.true_lux(environment.solar_elevation_deg(self.day, secs, site.origin_lat,
                                                                   site.origin_lon), weather)
        values = environment.sensors(self.scene_rng, weather, lux, base_temp)
        return {"secs": secs, "weather": weather, "light": environment.classify_light(lux), **values}

    # ---- per-second summary -------------------------------------------------------------------------
    def summarise(self, rows: dict, secs: np.ndarray, driven: np.ndarray, ego: dict, real_only: bool) -> dict:
        """Per driven second: counts per class and radius, lead object (with its track id and track age), nearest
        VRU, lowest confidence, flickering tracks, oncoming vehicles (``real_only``: the truth, phantoms left out)."""
        n = secs.size
        pos = np.searchsorted(secs, rows["sec"])
        pos_ok = (pos < n) & (secs[np.minimum(pos, n - 1)] == rows["sec"])
        known = rows["cls"] != CLASS_CODE["unknown"]
        sel = pos_ok & (rows["real"] if real_only else True)
        out: dict[str, np.ndarray] = {}
        conf = np.full(n, np.inf)
        np.minimum.at(conf, pos[sel], rows["conf"][sel])
        out["min_track_confidence"] = np.where(np.isinf(conf), np.nan, conf)
        flick = sel & rows["flicker"]
        track_no = np.unique(rows["track"], return_inverse=True)[1].reshape(-1)
        pairs = np.unique(np.column_stack([pos[flick], track_no[flick]]), axis=0)
        out["flickering_tracks"] = np.bincount(pairs[:, 0], minlength=n) if pairs.size else np.zeros(n, int)
        w = sel & rows["whole"] & known
        p, cls = pos[w], rows["cls"][w]
        i = driven[p]
        x, y, h, _, _ = self.path.evaluate(rows["s"][w])
        ox, oy = x - np.sin(h) * rows["lat"][w], y + np.cos(h) * rows["lat"][w]
        dx, dy = ox - ego["x"][i], oy - ego["y"][i]
        dist = np.hypot(dx, dy)
        for r in COUNT_RADII_M:
            counts = np.bincount(p[dist <= r] * len(OBJECT_CLASSES) + cls[dist <= r],
                                 minlength=n * len(OBJECT_CLASSES)).reshape(n, len(OBJECT_CLASSES))
            for c in COUNTED_CLASSES:
                out[count_column(c, r)] = counts[:, CLASS_CODE[c]]
        oncoming = ((rows["v"][w] <= -ONCOMING_MIN_SPEED_MPS) & (dist <= ONCOMING_RADIUS_M)
                    & (rows["lat"][w] > ONCOMING_MIN_LAT_LANES * self.route.lane_width_m))
        out["oncoming_50m"] = np.bincount(p[oncoming], minlength=n)
        along = rows["s"][w] - self.s[i]
        seen = dist <= PERCEPTION_RANGE_M
        in_lane = (np.abs(rows["lat"][w]) < self.route.lane_width_m / 2) & (along > 0) & seen
        first = _first_per(p[in_lane], along[in_lane], n)
        lead = np.flatnonzero(in_lane)[first[first >= 0]]
        has = first >= 0
        out["lead_class"] = np.full(n, None, dtype=object)
        out["lead_class"][has] = np.array(OBJECT_CLASSES, dtype=object)[cls[lead]]
        out["lead_track_id"] = np.full(n, None, dtype=object)
        out["lead_track_id"][has] = rows["track"][w][lead]
        out["lead_track_age_s"] = np.full(n, np.nan)
        out["lead_track_age_s"][has] = rows["age"][w][lead]
        gap = np.full(n, np.nan)
        gap[has] = along[lead] - (float(self.cls["length_m"]) + LENGTHS[cls[lead]]) / 2
        rel = np.full(n, np.nan)
        rel[has] = rows["v"][w][lead] - ego["speed"][driven[has]]
        speed = ego["speed"][driven]
        out["lead_gap_m"], out["lead_rel_speed_mps"] = gap, rel
        out["lead_time_headway_s"] = np.where(speed >= MIN_HEADWAY_SPEED_MPS, gap / np.maximum(speed, 1e-9), np.nan)
        vru = IS_VRU[cls] & seen
        nearest = _first_per(p[vru], dist[vru], n)
        has_v = nearest >= 0
        vi = np.flatnonzero(vru)[nearest[has_v]]
        out["vru_distance_m"] = np.full(n, np.nan)
        out["vru_distance_m"][has_v] = dist[vi]
        bearing = np.degrees(wrap_angle(np.arctan2(dy[vi], dx[vi]) - ego["heading"][i[vi]]))
        out["vru_bearing_deg"] = np.full(n, np.nan)
        out["vru_bearing_deg"][has_v] = bearing
        return out

    def summary_columns(self, secs: np.ndarray, s: dict, lights: dict, uploaded: np.ndarray) -> dict:
        """The perception_summary rows (one per driven second with a heartbeat)."""
        cols = {"ts": iso_array(self.day_ms + secs[uploaded] * 1000), "vehicle_id": self.vehicle.vehicle_id}
        for c in COUNTED_CLASSES:
            for r in COUNT_RADII_M:
                cols[count_column(c, r)] = s[count_column(c, r)][uploaded]
        cols["lead_class"] = s["lead_class"][uploaded]
        cols["lead_track_id"] = s["lead_track_id"][uploaded]
        for k, digits in (("lead_track_age_s", 1), ("lead_gap_m", 2), ("lead_rel_speed_mps", 2),
                          ("lead_time_headway_s", 2), ("vru_distance_m", 2), ("vru_bearing_deg", 1),
                          ("min_track_confidence", 3)):
            cols[k] = np.round(s[k][uploaded], digits)
        cols["flickering_tracks"] = s["flickering_tracks"][uploaded]
        cols["oncoming_50m"] = s["oncoming_50m"][uploaded]
        cols["tl_state"] = lights["tl_state"][uploaded]
        cols["tl_distance_m"] = np.round(lights["tl_distance_m"][uploaded], 2)
        return cols

    def environment_columns(self, env_secs: np.ndarray, env: dict) -> dict:
        """The environment rows (one per heartbeat second), labels as the vehicle classifies its sensors."""
        m = np.isin(env["secs"], env_secs)
        values = {k: env[k][m] for k in ("rain_sensor_pct", "wiper_level", "ambient_lux", "visibility_m",
                                         "outside_temp_c")}
        return {"ts": iso_array(self.day_ms + env["secs"][m] * 1000), "vehicle_id": self.vehicle.vehicle_id, **values,
                "weather": environment.classify_weather(values["rain_sensor_pct"], values["outside_temp_c"],
                                                        values["visibility_m"]),
                "light": environment.classify_light(values["ambient_lux"])}

    def truth_table(self, secs: np.ndarray, driven: np.ndarray, s: dict, ctx: dict, lights: dict, env: dict,
                    uploaded: np.ndarray, drive_mode: np.ndarray, perceived: dict) -> pa.Table:
        """``_truth/scene_seconds`` rows of this vehicle-day (every driven second): the true scene (real road
        users seen from the true pose), the ego's true speed and drive mode, and what its perception reported
        (``perceived_*``: flickers and low-confidence tracks are facts of the perception, not of the world)."""
        m = np.isin(env["secs"], secs)
        n = secs.size
        flags = {kind: np.zeros(n, bool) for kind in SCENE_KINDS}
        for sc in self.scenes:
            a, b = (sc["ts_start"] - self.day_ms) // 1000, (sc["ts_end"] - self.day_ms) // 1000
            flags[sc["kind"]] |= (secs >= a) & (secs <= b)
        vru_30 = sum(s[count_column(c, DENSE_RADIUS_M)] for c in VRU_CLASSES)
        veh_30 = sum(s[count_column(c, DENSE_RADIUS_M)] for c in VEHICLE_CLASSES)
        flags["dense_mixed_traffic"] = (vru_30 >= DENSE_MIN_VRU) & (veh_30 >= DENSE_MIN_VEHICLES)
        half = float(self.cls["length_m"]) / 2
        return pa.table({
            "vehicle_id": pa.array(np.full(n, self.vehicle.vehicle_id, dtype=object), pa.string()),
            "ts": pa.array(self.day_ms + secs * 1000, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            "site_id": pa.array(np.full(n, self.vehicle.site_id, dtype=object), pa.string()),
            "uploaded": pa.array(uploaded),
            "weather": pa.array(env["weather"][m], pa.string()),
            "light": pa.array(env["light"][m], pa.string()),
            "in_junction": pa.array(ctx["in_junction"].astype(bool)),
            "junction_id": pa.array(ctx["junction_id"], pa.string()),
            "junction_signalised": pa.array(ctx["junction_signalised"], pa.bool_()),
            "on_crosswalk": pa.array(self.on_crosswalk(self.s[driven], half)),
            "in_merge": pa.array(ctx["in_merge"].astype(bool)),
            "turn": pa.array(ctx["turn"], pa.string()),
            "lane_change": pa.array(np.full(n, LANE_CHANGES[0], dtype=object), pa.string()),
            "speed_mps": pa.array(self.v[driven], pa.float64()),
            "drive_mode": pa.array(drive_mode, pa.string()),
            **{count_column(c, r): pa.array(s[count_column(c, r)].astype(np.int16))
               for c in COUNTED_CLASSES for r in COUNT_RADII_M},
            "lead_class": pa.array(s["lead_class"], pa.string()),
            "lead_gap_m": pa.array(s["lead_gap_m"], pa.float64(), mask=np.isnan(s["lead_gap_m"])),
            "vru_distance_m": pa.array(s["vru_distance_m"], pa.float64(), mask=np.isnan(s["vru_distance_m"])),
            "perceived_min_track_confidence": pa.array(perceived["min_track_confidence"], pa.float64(),
                                                       mask=np.isnan(perceived["min_track_confidence"])),
            "perceived_flickering_tracks": pa.array(perceived["flickering_tracks"].astype(np.int16)),
            "tl_state": pa.array(lights["tl_state"], pa.string()),
            "tl_distance_m": pa.array(lights["tl_distance_m"], pa.float64(), mask=np.isnan(lights["tl_distance_m"])),
            **{kind: pa.array(flags[kind]) for kind in SCENE_KINDS},
        })


def _rows(sec, cls_code, s, lat, v, conf, track, whole=None, logged=False, real=True, flicker=False,
          t=None) -> dict:
    """Rows of one road user: day second, class code, arc length, lateral offset, speed along the path,
    confidence, track id, sample time (s after 00:00 UTC; the whole second by default); whether each falls on a
    whole second, is logged, real, a flicker."""
    n = np.asarray(s).size
    return {"sec": np.asarray(sec, np.int64), "cls": np.full(n, cls_code, np.int64), "s": np.asarray(s, float),
            "lat": np.asarray(lat, float), "v": np.asarray(v, float), "conf": np.asarray(conf, float),
            "track": np.full(n, track, dtype=object),
            "t": np.asarray(sec, float) if t is None else np.asarray(t, float),
            "whole": np.ones(n, bool) if whole is None else np.asarray(whole),
            "logged": np.full(n, logged), "real": np.full(n, real), "flicker": np.full(n, flicker)}


def _whole(sample: int) -> int:
    """The whole-second sample at or before ``sample``: injected road users are placed on whole seconds."""
    return sample - sample % HZ


def _concat(parts: list[dict]) -> dict:
    if not parts:
        return _rows(np.zeros(0), 0, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), "")
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _track_age(track: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per row: seconds since its track was acquired, the start of its presence without a gap > TRACK_GAP_S."""
    code = np.unique(track, return_inverse=True)[1].reshape(-1)
    order = np.lexsort((t, code))
    tt, cc = t[order], code[order]
    start = np.ones(tt.size, bool)
    start[1:] = (cc[1:] != cc[:-1]) | (np.diff(tt) > TRACK_GAP_S + 1e-9)
    age = np.empty(tt.size)
    age[order] = tt - tt[start][np.cumsum(start) - 1]
    return age


def _first_per(group: np.ndarray, key: np.ndarray, n: int) -> np.ndarray:
    """For each group 0..n-1 the index (into ``group``) of its smallest ``key``; -1 for empty groups."""
    out = np.full(n, -1)
    if group.size:
        order = np.lexsort((key, group))
        g, first = np.unique(group[order], return_index=True)
        out[g] = order[first]
    return out
