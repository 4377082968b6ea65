"""Surrounding traffic as perception objects in case windows, plus the objects behind injected events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fleetloop.sim.geometry import PathTable, wrap_angle

HZ = 10
SIZES = {"car": (4.6, 1.9), "truck": (9.0, 2.5), "bus": (12.0, 2.55), "pedestrian": (0.6, 0.6),
         "cyclist": (1.8, 0.6), "tricycle": (2.5, 1.2), "scooter": (1.6, 0.6), "unknown": (1.0, 1.0)}
SPEEDS = {"pedestrian": (0.6, 1.6), "cyclist": (3.0, 5.0), "tricycle": (2.0, 4.0), "scooter": (3.0, 6.0)}
MIX = {
    "campus": {"pedestrian": 0.4, "cyclist": 0.25, "scooter": 0.2, "tricycle": 0.15},
    "urban": {"car": 0.4, "truck": 0.1, "bus": 0.1, "cyclist": 0.1, "tricycle": 0.1, "pedestrian": 0.1,
              "scooter": 0.1},
    "highway": {"car": 0.6, "truck": 0.35, "bus": 0.05},
}
VEHICLES = ("car", "truck", "bus")


@dataclass
class Track:
    """One object: samples [i0, i1) of the day, along-path position and lateral offset per sample."""

    object_id: str
    cls: str
    i0: int
    s: np.ndarray  # arc length along the route path (m)
    lat: np.ndarray  # offset to the left of the driven lane centreline (m)
    confidence: np.ndarray
    reverse: bool = False  # moving against the lane direction
    crossing: bool = False  # heading across the lane
    real: bool = True  # False for a phantom (a detection of nothing)


def background(rng: np.random.Generator, prefix: str, kind: str, i0: int, i1: int, ego_s0: float,
               ego_speed: float, lane_w: float) -> list[Track]:
    """3-8 ordinary road users that live for the whole window (high confidence, never phantom-like)."""
    mix = MIX[kind]
    classes = rng.choice(list(mix), size=int(rng.integers(3, 9)), p=np.array(list(mix.values())))
    tau = np.arange(i1 - i0) / HZ
    tracks = []
    for j, cls in enumerate(classes.tolist()):
        if cls in VEHICLES:
            speed, lat = max(1.0, ego_speed * rng.uniform(0.8, 1.2)), lane_w
            reverse = False
        else:
            speed, lat = rng.uniform(*SPEEDS[cls]), -(lane_w / 2 + rng.uniform(1.0, 2.5))
            reverse = bool(rng.random() < 0.5)
        s0 = ego_s0 + rng.uniform(-50, 80)
        s = s0 + (-speed if reverse else speed) * tau
        conf = np.clip(rng.uniform(0.75, 0.97) + rng.normal(0, 0.01, tau.size), 0.7, 1.0)
        tracks.append(Track(f"{prefix}-o{j}", cls, i0, s, np.full(tau.size, lat), conf, reverse))
    return tracks


def to_table(tracks: list[Track], path: PathTable, ts_ms: np.ndarray, vehicle_id: str) -> pa.Table:
    """Perception rows (10 Hz) of the tracks; ts_ms is the day's sample clock."""
    cols = {k: [] for k in ("ts", "object_id", "class", "x_m", "y_m", "heading_rad", "vx_mps", "vy_mps",
                            "length_m", "width_m", "confidence")}
    for tr in tracks:
        n = tr.s.size
        x, y, h, _, _ = path.evaluate(tr.s)
        nx, ny = -np.sin(h), np.cos(h)
        v_along = np.gradient(tr.s) * HZ if n > 1 else np.zeros(n)
        v_lat = np.gradient(tr.lat) * HZ if n > 1 else np.zeros(n)
        heading = h + (np.pi if tr.reverse else 0.0) + (np.pi / 2 if tr.crossing else 0.0)
        length, width = SIZES[tr.cls]
        cols["ts"].append(ts_ms[tr.i0:tr.i0 + n])
        cols["object_id"].append(np.full(n, tr.object_id, dtype=object))
        cols["class"].append(np.full(n, tr.cls, dtype=object))
        cols["x_m"].append(x + nx * tr.lat)
        cols["y_m"].append(y + ny * tr.lat)
        cols["heading_rad"].append(wrap_angle(heading))
        cols["vx_mps"].append(v_along * np.cos(h) + v_lat * nx)
        cols["vy_mps"].append(v_along * np.sin(h) + v_lat * ny)
        cols["length_m"].append(np.full(n, length))
        cols["width_m"].append(np.full(n, width))
        cols["confidence"].append(tr.confidence)
    data = {k: np.concatenate(v) for k, v in cols.items()}
    ts = pa.array(data.pop("ts"), pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    table = pa.table({"ts": ts, "vehicle_id": pa.array(np.full(len(ts), vehicle_id, dtype=object), pa.string()),
                      **{k: pa.array(v, pa.string() if k in ("object_id", "class") else pa.float64())
                         for k, v in data.items()}})
    return table.sort_by([("ts", "ascending"), ("object_id", "ascending")])
