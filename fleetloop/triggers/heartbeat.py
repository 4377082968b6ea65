"""Heartbeat triggers: offline (per vehicle) and site_anomaly (per site and 10-min window)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fleetloop.triggers.runs import US, Detection

ACTIVE_TASK_STATUSES = ("dispatched", "driving", "waiting")


def offline(ts_us: np.ndarray, task_status: np.ndarray, p: dict) -> list[Detection]:
    """Gaps between consecutive heartbeats longer than gap_s after a heartbeat with an active task."""
    gap = np.diff(ts_us)
    active = np.isin(task_status[:-1], ACTIVE_TASK_STATUSES)
    return [
        Detection(int(ts_us[i]), int(ts_us[i + 1]), None,
                  {"gap_s": gap[i] / US, "task_status": str(task_status[i])})
        for i in np.flatnonzero((gap > p["gap_s"] * US) & active)
    ]


def site_anomaly(heartbeats: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Sites where >= min_vehicles and >= min_share of the active vehicles (a 'driving' heartbeat in the
    UTC-aligned window) have a mean driving speed below crawl_speed_mps.

    ``heartbeats`` has site_id, vehicle_id, ts_us, speed_mps, task_status; returns site_id, start_us,
    end_us, active, crawling."""
    window_us = int(p["window_s"] * US)
    driving = heartbeats[heartbeats["task_status"] == "driving"]
    per_vehicle = (
        driving.assign(window=driving["ts_us"] // window_us)
        .groupby(["site_id", "window", "vehicle_id"], observed=True)["speed_mps"].mean()
        .rename("mean_speed_mps").reset_index()
    )
    per_vehicle["crawling"] = per_vehicle["mean_speed_mps"] < p["crawl_speed_mps"]
    sites = per_vehicle.groupby(["site_id", "window"], observed=True).agg(
        active=("vehicle_id", "size"), crawling=("crawling", "sum")).reset_index()
    fired = sites[(sites["crawling"] >= p["min_vehicles"]) & (sites["crawling"] / sites["active"] >= p["min_share"])]
    return pd.DataFrame({
        "site_id": fired["site_id"].to_numpy(),
        "start_us": fired["window"].to_numpy() * window_us,
        "end_us": (fired["window"].to_numpy() + 1) * window_us,
        "active": fired["active"].to_numpy(),
        "crawling": fired["crawling"].to_numpy(),
    })
