"""Reference case building: windows around vehicle events, merged per vehicle, with the perception flag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fleetloop.definitions import trigger_params
from fleetloop.triggers.ids import case_id
from fleetloop.triggers.runs import US

CASE_COLUMNS = ["case_id", "vehicle_id", "site_id", "ts_start", "ts_end", "triggers", "severity", "n_events",
                "event_ids", "dt"]
PHANTOM = "phantom"  # the seed rows of a phantom-looking object (not a trigger)


def build_cases(events: pd.DataFrame, pre_s: float | None = None, post_s: float | None = None) -> pd.DataFrame:
    """Cases from events: [ts_start - pre_s, ts_end + post_s] per vehicle event (site_anomaly excluded),
    overlapping windows of one vehicle merged; severity is the maximum, dt the first event's day."""
    p = trigger_params("case")
    pre = pd.Timedelta(seconds=p["pre_s"] if pre_s is None else pre_s)
    post = pd.Timedelta(seconds=p["post_s"] if post_s is None else post_s)
    ev = events[events["vehicle_id"].notna() & (events["trigger"] != "site_anomaly")].copy()
    ev["w_start"] = ev["ts_start"] - pre
    ev["w_end"] = ev["ts_end"] + post
    ev = ev.sort_values(["vehicle_id", "w_start", "w_end"], kind="stable")
    running_end = ev.groupby("vehicle_id")["w_end"].cummax()
    previous_end = running_end.groupby(ev["vehicle_id"]).shift()
    ev["case_no"] = (previous_end.isna() | (ev["w_start"] > previous_end)).cumsum()
    cases = ev.groupby("case_no").agg(
        vehicle_id=("vehicle_id", "first"), site_id=("site_id", "first"), ts_start=("w_start", "min"),
        ts_end=("w_end", "max"), triggers=("trigger", lambda t: sorted(set(t))), severity=("severity", "max"),
        n_events=("event_id", "size"), event_ids=("event_id", list), dt=("dt", "min"),
    ).reset_index(drop=True)
    cases["case_id"] = [case_id(v, int(s.value // 1_000_000)) for v, s in
                        zip(cases["vehicle_id"], cases["ts_start"], strict=True)]
    return cases[CASE_COLUMNS]


def perception_suspect(con, cases: pd.DataFrame) -> pd.Series:
    """Per case: a hard_brake, and inside the window a phantom-looking object (track living < max_track_s or
    confidence < max_confidence, within ahead_m ahead of the ego: the ``phantom`` seed rows) or a perception
    error code. (The brief's sentence also parses as "(hard_brake and phantom) or perception code"; this
    reading is the warehouse's.)"""
    if cases.empty:
        return pd.Series([], dtype=bool)
    windows = cases[["case_id", "vehicle_id", "ts_start", "ts_end"]]
    con.register("_fleetloop_case_windows", windows)
    try:
        coded = {r[0] for r in con.execute("""
            select distinct w.case_id from _fleetloop_case_windows w join ods.ods_error_code e
              on e.vehicle_id = w.vehicle_id and e.ts between w.ts_start and w.ts_end
            where e.module = 'perception'
        """).fetchall()}
        objects = con.execute("""
            select w.case_id, o.object_id, epoch_us(o.ts) as ts_us, o.x_m, o.y_m, o.confidence,
                   p.x_m as ego_x_m, p.y_m as ego_y_m, p.heading_rad as ego_heading_rad
            from _fleetloop_case_windows w
            join ods.ods_perception_objects o on o.vehicle_id = w.vehicle_id and o.ts between w.ts_start and w.ts_end
            join ods.ods_pose p on p.vehicle_id = o.vehicle_id and p.ts = o.ts
        """).df()
    finally:
        con.unregister("_fleetloop_case_windows")
    life_s = objects.groupby(["case_id", "object_id"])["ts_us"].transform(lambda t: (t.max() - t.min()) / US)
    dx, dy = objects["x_m"] - objects["ego_x_m"], objects["y_m"] - objects["ego_y_m"]
    forward = dx * np.cos(objects["ego_heading_rad"]) + dy * np.sin(objects["ego_heading_rad"])
    p = trigger_params(PHANTOM)
    phantom = ((life_s < p["max_track_s"]) | (objects["confidence"] < p["max_confidence"])) & (forward > 0) & (
        np.hypot(dx, dy) <= p["ahead_m"])
    phantom_cases = set(objects.loc[phantom, "case_id"])
    braked = cases["triggers"].apply(lambda t: "hard_brake" in t)
    return (braked & (cases["case_id"].isin(coded) | cases["case_id"].isin(phantom_cases))).rename("perception_suspect")
