"""Reference event detection over the ODS tables: numpy per vehicle, thresholds from the seeds.

``detect_events(con, day)`` returns the common event shape of ``dwd.dwd_event``. Events belong to the
UTC day of their ts_start; a day reads ``context_s`` of data on each side (default the seed's day margin)
so runs crossing midnight are seen whole (a run longer than the context is cut at its edge).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd

from fleetloop.definitions import DEFAULT_CLASS, trigger_params
from fleetloop.triggers import discrete, heartbeat, interaction, planner, pose
from fleetloop.triggers.ids import event_id
from fleetloop.triggers.runs import Detection, day_margin_s

EVENT_COLUMNS = ["event_id", "vehicle_id", "site_id", "trigger", "ts_start", "ts_end", "severity", "attributes", "dt"]
TIER_SEVERITY_OFFSET = {"mild": -1, "hard": 0, "severe": 1, "trend": 0, "problem": 1}
VEHICLE_BATCH = 10


def _literal(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::varchar[]"


class _Scope:
    """Which rows of an ODS table a run reads: the day plus context, or everything."""

    def __init__(self, day: dt.date | None, context_s: float):
        self.day = day
        self.context_s = context_s

    def where(self, ts: str = "ts") -> str:
        if self.day is None:
            return "true"
        lo = dt.datetime.combine(self.day, dt.time(), dt.UTC) - dt.timedelta(seconds=self.context_s)
        hi = dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time(), dt.UTC) + dt.timedelta(
            seconds=self.context_s)
        days = [self.day + dt.timedelta(days=d) for d in (-1, 0, 1)]
        return (f"dt in ({', '.join(repr(d.isoformat()) for d in days)}) "
                f"and {ts} >= '{lo.isoformat()}'::timestamptz and {ts} < '{hi.isoformat()}'::timestamptz")


def _registry(con, scope: _Scope) -> pd.DataFrame:
    """Each vehicle's class and home site from its latest registry snapshot (up to the day's end)."""
    until = "true" if scope.day is None else f"dt <= '{scope.day.isoformat()}'"
    return con.execute(f"""
        select vehicle_id, vehicle_class, site_id from ods.ods_vehicle_registry where {until}
        qualify row_number() over (partition by vehicle_id order by ts desc) = 1
    """).df().set_index("vehicle_id")


def _vehicles(con, table: str, scope: _Scope) -> list[str]:
    return [r[0] for r in con.execute(
        f"select distinct vehicle_id from ods.{table} where {scope.where()} order by 1").fetchall()]


def _batches(con, table: str, columns: str, scope: _Scope) -> Iterator[tuple[list[str], dict, np.ndarray]]:
    """Batches of vehicles with their rows sorted by vehicle and time, as numpy columns plus the row
    offsets of each vehicle."""
    vehicles = _vehicles(con, table, scope)
    for b in range(0, len(vehicles), VEHICLE_BATCH):
        vids = vehicles[b : b + VEHICLE_BATCH]
        cols = con.sql(f"""
            select list_position({_literal(vids)}, vehicle_id) - 1 as vehicle_ix, epoch_us(ts) as ts_us, {columns}
            from ods.{table} where vehicle_id = any({_literal(vids)}) and {scope.where()}
            order by vehicle_ix, ts
        """).to_arrow_table()
        offsets = np.searchsorted(cols.column("vehicle_ix").to_numpy(), np.arange(len(vids) + 1))
        yield vids, cols, offsets


def _pose_events(con, scope: _Scope, params) -> Iterator[tuple[str, str, Detection]]:
    columns = "x_m, y_m, speed_mps, acc_lon_mps2, heading_rad, yaw_rate_rps, task_status = 'driving' as driving"
    for vids, table, offsets in _batches(con, "ods_pose", columns, scope):
        c = {name: table.column(name).to_numpy() for name in table.column_names}
        for i, vid in enumerate(vids):
            v = {name: col[offsets[i] : offsets[i + 1]] for name, col in c.items()}
            for d in pose.hard_brake(v["ts_us"], v["speed_mps"], v["acc_lon_mps2"], params(vid, "hard_brake")):
                yield vid, "hard_brake", d
            for d in pose.weaving(v["ts_us"], v["speed_mps"], v["yaw_rate_rps"], v["heading_rad"],
                                  params(vid, "weaving")):
                yield vid, "weaving", d
            for d in pose.stuck(v["ts_us"], v["driving"], v["speed_mps"], v["x_m"], v["y_m"], params(vid, "stuck")):
                yield vid, "stuck", d


def _planner_events(con, scope: _Scope, params) -> Iterator[tuple[str, str, Detection]]:
    for vids, table, offsets in _batches(con, "ods_planner_debug", "candidate_scores, commanded_steering_deg", scope):
        ts_us = table.column("ts_us").to_numpy()
        steering = table.column("commanded_steering_deg").to_numpy()
        lists = table.column("candidate_scores").combine_chunks()
        scores = lists.flatten().to_numpy(zero_copy_only=False).astype(float)
        list_offsets = lists.offsets.to_numpy() - lists.offsets.to_numpy()[0]
        for i, vid in enumerate(vids):
            lo, hi = offsets[i], offsets[i + 1]
            p = params(vid, "uncertainty")
            flat = planner.flat_samples(scores[list_offsets[lo] : list_offsets[hi]],
                                        list_offsets[lo : hi + 1] - list_offsets[lo], p)
            for d in planner.uncertainty(ts_us[lo:hi], flat, p):
                yield vid, "uncertainty", d
            for d in planner.output_jitter(ts_us[lo:hi], steering[lo:hi], params(vid, "output_jitter")):
                yield vid, "output_jitter", d


def _summary_events(con, scope: _Scope, params) -> Iterator[tuple[str, str, Detection]]:
    """The high-interaction triggers over the perception summary (with the same second's pose yaw rate and speed)."""
    summary = con.execute(f"""
        select s.*, epoch_us(s.ts) as ts_us, p.yaw_rate_rps, p.speed_mps
        from (select * from ods.ods_perception_summary where {scope.where('ts')}) as s
        left join (select vehicle_id, ts, yaw_rate_rps, speed_mps from ods.ods_pose where {scope.where('ts')}) as p
            using (vehicle_id, ts)
        order by s.vehicle_id, s.ts
    """).df()
    for vid, rows in summary.groupby("vehicle_id", sort=False):
        for trigger, detect in interaction.DETECTORS.items():
            for d in detect(rows, params(vid, trigger)):
                yield vid, trigger, d


def _heartbeat_events(con, scope: _Scope, params) -> Iterator[tuple[str | None, str, Detection, str | None]]:
    hb = con.execute(f"""
        select site_id, vehicle_id, epoch_us(ts) as ts_us, speed_mps, task_status
        from ods.ods_heartbeat where {scope.where()} order by vehicle_id, ts
    """).df()
    for vid, rows in hb.groupby("vehicle_id", sort=False):
        for d in heartbeat.offline(rows["ts_us"].to_numpy(), rows["task_status"].to_numpy(), params(vid, "offline")):
            yield vid, "offline", d, None
    for r in heartbeat.site_anomaly(hb, trigger_params("site_anomaly")).itertuples():
        yield None, "site_anomaly", Detection(int(r.start_us), int(r.end_us), None, {
            "active_vehicles": int(r.active), "stuck_or_crawling": int(r.crawling),
            "share": round(r.crawling / r.active, 4)}), r.site_id


def _record_events(con, scope: _Scope, params) -> Iterator[tuple[str, str, Detection]]:
    codes = con.execute(f"""
        select vehicle_id, module, code, epoch_us(ts) as ts_us from ods.ods_error_code
        where {scope.where()} order by vehicle_id, module, ts
    """).df()
    for (vid, module), rows in codes.groupby(["vehicle_id", "module"], sort=False):
        for d in discrete.error_burst(rows["ts_us"].to_numpy(), rows["code"].to_numpy(), module,
                                      params(vid, "error_burst")):
            yield vid, "error_burst", d
    for r in con.execute(f"""
        select vehicle_id, epoch_us(ts_start) as s, epoch_us(ts_end) as e, takeover_id, channel, initiator
        from ods.ods_takeover where {scope.where('ts_start')}
    """).fetchall():
        yield r[0], "takeover", Detection(r[1], r[2], None, {"takeover_id": r[3], "channel": r[4], "initiator": r[5]})
    for vid, ts_us, call_type, reason in con.execute(f"""
        select vehicle_id, epoch_us(ts), call_type, reason from ods.ods_vehicle_call where {scope.where()}
    """).fetchall():
        yield vid, call_type, Detection(ts_us, ts_us, None, {"reason": reason})
    for vid, ts_us, takeover_id, text in con.execute(f"""
        select vehicle_id, epoch_us(ts), takeover_id, text from ods.ods_asr_note where {scope.where()}
    """).fetchall():
        tags, keywords = discrete.keyword_tags(text)
        if tags:
            yield vid, "asr_keyword", Detection(ts_us, ts_us, None,
                                                {"tags": tags, "keywords": keywords, "takeover_id": takeover_id})


def detect_events(con, day: dt.date | str | None = None, context_s: float | None = None) -> pd.DataFrame:
    """Every trigger's events from the ODS tables, in the common event shape of ``dwd.dwd_event``."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    scope = _Scope(day, day_margin_s() if context_s is None else context_s)
    registry = _registry(con, scope)
    classes = registry["vehicle_class"].to_dict()

    def params(vehicle_id: str, trigger: str) -> dict:
        return trigger_params(trigger, classes.get(vehicle_id, DEFAULT_CLASS))

    rows = []
    for vid, trigger, d in [*_pose_events(con, scope, params), *_planner_events(con, scope, params),
                            *_record_events(con, scope, params), *_summary_events(con, scope, params)]:
        rows.append((vid, registry["site_id"].get(vid), trigger, d))
    for vid, trigger, d, site in _heartbeat_events(con, scope, params):
        rows.append((vid, site if vid is None else registry["site_id"].get(vid), trigger, d))
    return _frame(rows, params, day)


def _id_trigger(trigger: str, d: Detection) -> str:
    """The trigger part of the event_id: error bursts of two modules may start together."""
    return f"{trigger}:{d.attributes['module']}" if trigger == "error_burst" else trigger


def _frame(rows: list, params, day: dt.date | None) -> pd.DataFrame:
    records = []
    for vid, site, trigger, d in rows:
        base = params(vid, trigger)["severity"] if vid is not None else trigger_params(trigger)["severity"]
        attributes = ({"tier": d.tier} if d.tier else {}) | d.attributes
        records.append({
            "event_id": event_id(_id_trigger(trigger, d), vid if vid is not None else site, d.start_us // 1000),
            "vehicle_id": vid, "site_id": site, "trigger": trigger,
            "ts_start": d.start_us, "ts_end": d.end_us,
            "severity": int(base + TIER_SEVERITY_OFFSET.get(d.tier, 0)),
            "attributes": json.dumps(attributes, sort_keys=True, ensure_ascii=False),
        })
    events = pd.DataFrame.from_records(records, columns=EVENT_COLUMNS[:-1])
    for col in ("ts_start", "ts_end"):
        events[col] = pd.to_datetime(events[col].astype("int64"), unit="us", utc=True)
    events["dt"] = events["ts_start"].dt.date
    if day is not None:
        events = events[events["dt"] == day]
    return events.sort_values(["trigger", "vehicle_id", "site_id", "ts_start"]).reset_index(drop=True)
