"""Reference of the high-interaction triggers (cut_in, unprotected_left, dense_mixed_traffic): plain loops over
one vehicle's 1 Hz perception summary, thresholds from ``seeds/trigger_definitions.csv``; the oracle of
``models/dwd/trigger/dwd_trg_{cut_in,unprotected_left,dense_mixed_traffic}.sql``.

``summary`` is one vehicle's ``ods_perception_summary`` rows sorted by ``ts`` (a DataFrame, ``ts`` as epoch
microseconds in ``ts_us``); ``yaw_rate_rps`` and ``speed_mps`` there are the pose sample of the same second (NaN
without one).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

import pandas as pd

from fleetloop.definitions import trigger_catalog
from fleetloop.triggers.runs import US, Detection

FAMILY = "interaction"
VRU_CLASSES = ("pedestrian", "cyclist", "tricycle", "scooter")  # vulnerable road users of the summary's counts
VEHICLE_CLASSES = ("car", "truck", "bus")


def interaction_triggers() -> list[str]:
    """The catalog's high-interaction triggers (family 'interaction'), in catalog order."""
    return [t for t, row in trigger_catalog().items() if row["family"] == FAMILY]


def _count(row, object_class: str, radius_m: float) -> int:
    return int(row[f"n_{object_class}_{int(radius_m)}m"])


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def cut_in(summary: pd.DataFrame, p: dict) -> list[Detection]:
    """A lead whose track id differs from the lead of the second before (exactly 1 s earlier; none counts as
    different), closer than that lead, tracked for at least min_track_age_s (so it was tracked the second
    before, beside the ego lane), moving along the lane at >= min_lead_speed_mps (ego speed plus relative
    speed: a road user crossing the lane is not cutting in), within max_gap_m or closing with a time to
    collision <= max_ttc_s."""
    out = []
    rows = summary.to_dict("records")
    for prev, row in zip(rows, rows[1:], strict=False):
        if row["ts_us"] - prev["ts_us"] != US or not _present(row["lead_track_id"]):
            continue
        if row["lead_track_id"] == prev["lead_track_id"] or not row["lead_track_age_s"] >= p["min_track_age_s"]:
            continue
        if _present(prev["lead_gap_m"]) and not row["lead_gap_m"] < prev["lead_gap_m"]:
            continue
        if not row["speed_mps"] + row["lead_rel_speed_mps"] >= p["min_lead_speed_mps"]:
            continue
        closing = row["lead_rel_speed_mps"] < 0
        if not (row["lead_gap_m"] <= p["max_gap_m"]
                or closing and row["lead_gap_m"] / -row["lead_rel_speed_mps"] <= p["max_ttc_s"]):
            continue
        out.append(Detection(row["ts_us"], row["ts_us"], None, {
            "lead_class": row["lead_class"], "lead_track_id": row["lead_track_id"],
            "lead_gap_m": row["lead_gap_m"], "lead_rel_speed_mps": row["lead_rel_speed_mps"]}))
    return out


def _merged(seconds: list[tuple[int, dict]], max_gap_s: float) -> list[tuple[int, int, list[dict]]]:
    """Qualifying seconds (ts_us, row) at most max_gap_s apart merged into (start_us, end_us, rows)."""
    runs: list[tuple[int, int, list[dict]]] = []
    for ts_us, row in seconds:
        if runs and ts_us - runs[-1][1] <= max_gap_s * US:
            runs[-1] = (runs[-1][0], ts_us, [*runs[-1][2], row])
        else:
            runs.append((ts_us, ts_us, [row]))
    return runs


def unprotected_left(summary: pd.DataFrame, p: dict) -> list[Detection]:
    """Seconds turning left (yaw_rate_rps >= min_yaw_rate_rps) with oncoming_50m >= min_oncoming and no light
    ahead closer than signal_near_m in the last signal_lookback_s, merged within max_gap_s."""
    rows = summary.to_dict("records")
    times = [r["ts_us"] for r in rows]
    seconds = []
    for row in rows:
        if not (row["oncoming_50m"] >= p["min_oncoming"] and row["yaw_rate_rps"] >= p["min_yaw_rate_rps"]):
            continue
        since = bisect_left(times, row["ts_us"] - p["signal_lookback_s"] * US)
        lookback = rows[since:bisect_right(times, row["ts_us"])]
        if not any(_present(r["tl_distance_m"]) and r["tl_distance_m"] < p["signal_near_m"] for r in lookback):
            seconds.append((row["ts_us"], row))
    return [Detection(a, b, None, {"n_seconds": len(rs), "max_oncoming": max(int(r["oncoming_50m"]) for r in rs)})
            for a, b, rs in _merged(seconds, p["max_gap_s"])]


def dense_mixed_traffic(summary: pd.DataFrame, p: dict) -> list[Detection]:
    """Seconds with >= min_vru VRUs and >= min_vehicles vehicles within radius_m, merged within max_gap_s."""
    seconds = []
    for row in summary.to_dict("records"):
        n_vru = sum(_count(row, c, p["radius_m"]) for c in VRU_CLASSES)
        n_vehicles = sum(_count(row, c, p["radius_m"]) for c in VEHICLE_CLASSES)
        if n_vru >= p["min_vru"] and n_vehicles >= p["min_vehicles"]:
            seconds.append((row["ts_us"], {"n_vru": n_vru, "n_vehicles": n_vehicles}))
    return [Detection(a, b, None, {"n_seconds": len(rs), "max_vru": max(r["n_vru"] for r in rs),
                                   "max_vehicles": max(r["n_vehicles"] for r in rs)})
            for a, b, rs in _merged(seconds, p["max_gap_s"])]


DETECTORS = {"cut_in": cut_in, "unprotected_left": unprotected_left, "dense_mixed_traffic": dense_mixed_traffic}
