"""The report's top cases: one card per most improved case, in plain words (who did what, when, how fast, and
what the scorer found), with the bird's-eye view of the logged and the counterfactual ego among the agents and
lanes (time markers across the logged path), the speed over UTC clock time and the score table, decoded from
the scorer's ScenarioSolutionPair packages."""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import duckdb
import numpy as np

from fleetloop.report.charts import EGO_COLORS, TRIGGER_COLOR, TimeWindow, clock, clock_ticks, speed_over_time
from fleetloop.report.page import plain, table
from fleetloop.report.query import rows
from fleetloop.report.svg import Marker, Track, bev_plot
from fleetloop.report.vega import figure
from fleetloop.scorer.package import ScenarioSolutionPair, decode

VRU = {"pedestrian", "cyclist", "tricycle", "scooter"}
VEHICLE_COLOR, VRU_COLOR, TICK_COLOR = "#f59e0b", "#a855f7", "#475569"
SCORE_ROWS = (("pdms", "PDMS"), ("nc", "no at-fault collision"), ("ttc", "time to collision"), ("c", "comfort"),
              ("ep", "ego progress"), ("dac", "drivable area"), ("lk", "lane keeping"), ("slc", "speed limit"))
# plain words for what the vehicle did (by trigger) and for what a solution that resolves it is (by the
# scorer's check, scorer.solutions.resolved_by); other triggers and checks read generically
DID = {"hard_brake": "braked hard", "weaving": "weaved in its lane", "stuck": "stood stuck"}
FOUND = {"hard_brake_tier": "a smoother stop", "weaving": "a steadier path in the same lane",
         "stuck": "a way to keep driving", "safety_fix": "a safer trajectory"}

TOP_CASES_SQL = """
with improved as (
    select * from scorer.solutions where status = 'improved' and package_path is not null
), events as (
    select c.case_id, e.trigger, e.tier, e.ts_start, e.ts_end
    from (select case_id, unnest(event_ids) as event_id from dwd.dwd_case) as c
    inner join dwd.dwd_event as e using (event_id)
)
select s.*, e.trigger as event_trigger, e.tier as event_tier, e.ts_start as event_start, e.ts_end as event_end
from improved as s
left join events as e on e.case_id = s.case_id and e.trigger = coalesce(s.resolved_trigger, e.trigger)
qualify row_number() over (partition by s.case_id order by e.ts_start) = 1
order by s.improvement desc, s.queue_rank, s.case_id
limit ?
"""


def top_improved_cases(con: duckdb.DuckDBPyConnection, limit: int = 4) -> list[dict]:
    """The most improved scored cases that have a package on disk, best first, each with the event of the
    trigger the solution resolves (``event_trigger``, ``event_tier``, ``event_start``, ``event_end``)."""
    return [r for r in rows(con, TOP_CASES_SQL, [limit * 3]) if Path(r["package_path"]).is_file()][:limit]


def _at(log: np.ndarray, t_s: float) -> tuple[tuple[float, float], float, float]:
    """Position, heading and speed of the trajectory ``(t, x, y, heading, v)`` at ``t_s`` (interpolated)."""
    x, y, heading, v = (float(np.interp(t_s, log[:, 0], col)) for col in (log[:, 1], log[:, 2], np.unwrap(log[:, 3]),
                                                                         log[:, 4]))
    return (x, y), heading, v


def _window(row: dict) -> TimeWindow | None:
    if row.get("event_start") is None:
        return None
    tier = f" ({row['event_tier']})" if row.get("event_tier") else ""
    return TimeWindow(row["event_start"], row["event_end"],
                      f"{row['event_trigger']}{tier} {clock(row['event_start'], 1)} to "
                      f"{clock(row['event_end'], 1)} UTC")


def time_markers(log: np.ndarray, start: dt.datetime, window: TimeWindow | None) -> list[Marker]:
    """The trigger's start and end, then a rule at every clock tick of the speed plot, across the logged path
    ``log`` (``t`` in seconds from ``start``) within its horizon."""
    horizon_s = float(log[-1, 0])
    marks = []
    if window is not None:
        for name, ts in (("start", window.start), ("end", window.end)):
            t_s = (ts - start).total_seconds()
            if 0 <= t_s <= horizon_s:
                xy, heading, _ = _at(log, t_s)
                marks.append(Marker(xy, heading, f"{name} {clock(ts, 1)}", TRIGGER_COLOR,
                                    f"trigger {name}: {window.label}", left=True))
    for ts in clock_ticks(start, start + dt.timedelta(seconds=horizon_s)):
        xy, heading, v = _at(log, (ts - start).total_seconds())
        marks.append(Marker(xy, heading, clock(ts), TICK_COLOR, f"logged ego at {clock(ts)} UTC: {v:.1f} m/s"))
    return marks


def story(row: dict, pair: ScenarioSolutionPair, start: dt.datetime) -> str:
    """The case in one sentence: who did what, when, how fast, what the scorer found and the PDMS change."""
    trigger = row.get("event_trigger") or (row.get("resolved_trigger") or "a trigger")
    did = DID.get(trigger, f"raised {trigger}")
    tier = f" ({row['event_tier']})" if row.get("event_tier") and trigger == "hard_brake" else ""
    when = row.get("event_start") or start
    _, _, speed = _at(pair.original_trajectory, (when - start).total_seconds())
    found = FOUND.get(row.get("resolved_by"), "a better trajectory")
    return (f"Vehicle {row['vehicle_id']} {did}{tier} at {clock(when)} UTC on {when.astimezone(dt.UTC):%Y-%m-%d} "
            f"at {speed:.1f} m/s; the scorer found {found}: PDMS {row['log_pdms']:.2f} → {row['sol_pdms']:.2f}.")


def _agent_tracks(pair: ScenarioSolutionPair) -> list[Track]:
    tracks = []
    for obj in pair.dynamic_objects_bev:
        track = np.asarray(obj["track"], float)
        if len(track):
            first = track[0]
            tracks.append(Track(xy=[tuple(p) for p in track[:, :2]], width=1.2, focus=False,
                                color=VRU_COLOR if obj["class"] in VRU else VEHICLE_COLOR,
                                label=f"{obj['class']} {obj['id']}",
                                box=(first[0], first[1], first[2], obj["length_m"], obj["width_m"])))
    return tracks


def _bev(pair: ScenarioSolutionPair, markers: list[Marker]) -> str:
    meta, log, sol = pair.scene_metadata, pair.original_trajectory, pair.optimized_trajectory
    lanes = [(ln["centerline"], ln["left_bound"], ln["right_bound"]) for ln in pair.static_environment_map]
    tracks = _agent_tracks(pair)
    tracks.append(Track(xy=[tuple(p) for p in log[:, 1:3]], color=EGO_COLORS["logged"], width=2.5, label="logged ego",
                        box=(log[0, 1], log[0, 2], log[0, 3], meta["ego_length_m"], meta["ego_width_m"])))
    if sol is not None:
        tracks.append(Track(xy=[tuple(p) for p in sol[:, 1:3]], color=EGO_COLORS["counterfactual"], width=2.5,
                            dash="7 4", label="counterfactual ego"))
    legend = [("logged ego", EGO_COLORS["logged"], ""), ("counterfactual", EGO_COLORS["counterfactual"], "7 4"),
              ("vehicle", VEHICLE_COLOR, ""), ("pedestrian/cyclist", VRU_COLOR, ""),
              ("trigger start/end", TRIGGER_COLOR, "")]
    return bev_plot(lanes, tracks, markers, f"bird's-eye view, {log[-1, 0] - log[0, 0]:.0f} s", legend)


def case_card(row: dict) -> str:
    """One case as a card: the sentence, the bird's-eye view, the speed plot, the scores and the facts."""
    pair = decode(Path(row["package_path"]).read_bytes())
    start = dt.datetime.fromisoformat(pair.scene_metadata["horizon_start"])
    log, sol = pair.original_trajectory, pair.optimized_trajectory
    window = _window(row)
    speeds = {"logged": log[:, [0, 4]].tolist()}
    if sol is not None:
        speeds["counterfactual"] = sol[:, [0, 4]].tolist()
    log_s = pair.decision_metadata.get("log_scores") or {}
    sol_s = pair.decision_metadata.get("solution_scores") or {}
    scores = table(["component", "log", "solution"],
                   [(label, log_s.get(k), sol_s.get(k)) for k, label in SCORE_ROWS if k in log_s])
    rob = pair.decision_metadata.get("robustness")
    facts = [
        f"{row['site_id']}, {row['vehicle_class']}; triggers of the case: {', '.join(pair.scene_metadata['triggers'])}",
        f"decision: {pair.decision_metadata.get('verdict') or 'n/a'}",
        (f"robustness: {rob['collision_free_share']:.0%} of {rob['variants']} what-if variants collision-free, "
         f"{rob['better_share']:.0%} still better than the log") if rob else "robustness: not checked",
        f"package {plain(row['package_bytes'])} bytes"
        + (f", {plain(row['compression_ratio'])}:1 against the raw logs" if row.get("compression_ratio") else ""),
    ]
    return (f'<div class="case"><h3>#{row["queue_rank"]} {escape(row["case_id"])}</h3>'
            f'<p class="story">{escape(story(row, pair, start))}</p>'
            f'<div class="grid">{_bev(pair, time_markers(log, start, window))}'
            f"<div>{figure(speed_over_time(start, speeds, window))}{scores}</div></div>"
            + "".join(f"<p>{escape(f)}</p>" for f in facts) + "</div>")
