"""Signals of one vehicle-day from its integrated kinematics: the 10 Hz pose and planner_debug tables,
1 Hz heartbeats, perception objects (then ``scenes`` for the 1 Hz summaries) and the exact distance truth
(mixed into ``vehicle_day._Day``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from fleetloop.contract import DRIVE_MODES, TASK_STATUSES
from fleetloop.lanemap import to_wgs84
from fleetloop.sim import traffic
from fleetloop.sim.clock import iso_array
from fleetloop.sim.geometry import wrap_angle
from fleetloop.sim.timeline import HZ, MODE
from fleetloop.sim.world import build_world

STEER_RATIO = 15.0
NOISE = {"xy": 0.03, "heading": 0.002, "yaw": 0.004, "speed": 0.02, "acc_lon": 0.03, "acc_lat": 0.05,
         "steer": 0.2, "cmd_steer": 0.15}


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
    perception_summary: dict  # columns, one row per driven second with a heartbeat
    environment: dict  # columns, one row per heartbeat
    scene_seconds: pa.Table  # truth of every driven second
    scenes: list[dict]  # truth of the injected scenes
    truth: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    distance: list[dict] = field(default_factory=list)


class SignalsMixin:
    """Output tables; needs the state of ``vehicle_day._Day`` after integration and event placement."""

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
        tracks = self.case_tracks()
        perception = traffic.to_table(tracks, self.path, ts_ms, vid) if tracks else None
        scenes = self.scene_outputs(status, {"x": x, "y": y, "heading": heading, "speed": speed, "lat": lat,
                                             "drive_mode": np.array(DRIVE_MODES)[mode]}, hb_idx, tracks)
        return DayOutput(vid, pose, planner, heartbeat, protected, self.records, perception, scenes["summary"],
                         scenes["environment"], scenes["truth"], scenes["scenes"], self.truth, self.incidents,
                         self.distance(mode))

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

    def case_tracks(self) -> list[traffic.Track]:
        """The tracks logged as perception objects: background traffic in the case windows and the objects
        behind injected events."""
        if not self.windows:
            return []
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
                                        tr.confidence[:keep], tr.reverse, tr.crossing, tr.real))
        return tracks

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
