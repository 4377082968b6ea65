"""The report's top cases: the logged and the counterfactual ego trajectory in bird's-eye view among the
agents and lanes, decoded from the scorer's ScenarioSolutionPair packages."""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import duckdb
import numpy as np

from fleetloop.report.page import table
from fleetloop.report.svg import Track, bev_plot, xy_chart

VRU = {"pedestrian", "cyclist", "tricycle", "scooter"}
LOGGED, COUNTERFACTUAL, VEHICLE, VRU_COLOR = "#0f172a", "#16a34a", "#f59e0b", "#a855f7"
SCORE_ROWS = (("pdms", "PDMS"), ("nc", "no at-fault collision"), ("ttc", "time to collision"), ("c", "comfort"),
              ("ep", "ego progress"), ("dac", "drivable area"), ("lk", "lane keeping"), ("slc", "speed limit"))


def top_improved_cases(con: duckdb.DuckDBPyConnection, limit: int = 4) -> list[dict]:
    """The most improved scored cases that have a package on disk, best first."""
    cur = con.execute(
        """
        with solutions as (
            select * from scorer.solutions where status = 'improved' and package_path is not null
        ), queue as (
            select case_id, triggers, reason as queue_reason, ts_start from ads.ads_case_queue
        )
        select s.*, q.triggers, q.queue_reason, q.ts_start
        from solutions s left join queue q using (case_id)
        order by s.improvement desc, s.queue_rank
        limit ?
        """,
        [limit * 3],
    )
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    return [r for r in rows if Path(r["package_path"]).is_file()][:limit]


def _agent_tracks(pair) -> list[Track]:
    tracks = []
    for obj in pair.dynamic_objects_bev:
        track = np.asarray(obj["track"], float)
        if len(track) == 0:
            continue
        color = VRU_COLOR if obj["class"] in VRU else VEHICLE
        first = track[0]
        tracks.append(Track(xy=[tuple(p) for p in track[:, :2]], color=color, width=1.2, label=f"{obj['class']} {obj['id']}",
                            box=(first[0], first[1], first[2], obj["length_m"], obj["width_m"]), focus=False))
    return tracks


def _when(ts: dt.datetime | None) -> str:
    return ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else ""


def case_figure(row: dict) -> str:
    """One case: BEV (lanes, agents at their first sample, logged vs counterfactual path), speeds, scores."""
    from fleetloop.scorer.package import decode

    pair = decode(Path(row["package_path"]).read_bytes())
    meta = pair.scene_metadata
    log, sol = pair.original_trajectory, pair.optimized_trajectory
    ego_l, ego_w = meta.get("ego_length_m", 4.5), meta.get("ego_width_m", 1.9)
    lanes = [(ln["centerline"], ln["left_bound"], ln["right_bound"]) for ln in pair.static_environment_map]
    tracks = _agent_tracks(pair)
    tracks.append(Track(xy=[tuple(p) for p in log[:, 1:3]], color=LOGGED, width=2.5, label="logged ego",
                        box=(log[0, 1], log[0, 2], log[0, 3], ego_l, ego_w)))
    speeds = {"logged": [(t, v) for t, v in zip(log[:, 0] - log[0, 0], log[:, 4])]}
    if sol is not None:
        tracks.append(Track(xy=[tuple(p) for p in sol[:, 1:3]], color=COUNTERFACTUAL, width=2.5, dash="7 4",
                            label="counterfactual ego"))
        speeds["counterfactual"] = [(t, v) for t, v in zip(sol[:, 0] - sol[0, 0], sol[:, 4])]
    points = pair.decision_metadata.get("key_decision_points") or []
    for p in points[:1]:
        tracks.append(Track(xy=[(p["x_m"], p["y_m"])] * 2, color="#dc2626", width=8, label=p["detail"]))
    horizon = float(log[-1, 0] - log[0, 0])
    legend = [("logged ego", LOGGED, ""), ("counterfactual", COUNTERFACTUAL, "7 4"), ("vehicle", VEHICLE, ""),
              ("pedestrian/cyclist", VRU_COLOR, ""), ("departure", "#dc2626", "")]
    bev = bev_plot(lanes, tracks, f"bird's-eye view, {horizon:.0f} s", width=520, height=340, legend=legend)
    speed = xy_chart(speeds, "speed", "t [s]", "m/s", dashed=("counterfactual",),
                     colors={"logged": LOGGED, "counterfactual": COUNTERFACTUAL})
    log_s = pair.decision_metadata.get("log_scores") or {}
    sol_s = pair.decision_metadata.get("solution_scores") or {}
    scores = table(["component", "log", "solution"],
                   [(label, log_s.get(k), sol_s.get(k)) for k, label in SCORE_ROWS if k in log_s])
    rob = pair.decision_metadata.get("robustness") or {}
    facts = [
        f"<b>{escape(str(row.get('vehicle_id')))}</b> at {escape(str(row.get('site_id')))} "
        f"({escape(str(row.get('vehicle_class')))}), {_when(row.get('ts_start'))}",
        f"triggers: {escape(', '.join(row.get('triggers') or []) if isinstance(row.get('triggers'), list) else str(row.get('triggers')))}",
        f"decision: {escape(points[0]['detail']) if points else 'n/a'}",
        f"robustness: {rob.get('collision_free_share', 0):.0%} of {rob.get('variants', 0)} what-if variants "
        f"collision-free, {rob.get('better_share', 0):.0%} still better than the log" if rob else "robustness: n/a",
        f"package {row.get('package_bytes') or 0:,} bytes"
        + (f", {row['compression_ratio']:,.0f}:1 vs raw logs" if row.get("compression_ratio") else ""),
    ]
    return (f'<div class="case"><h3>#{row.get("queue_rank")} {escape(row["case_id"])} '
            f'&nbsp; PDMS {log_s.get("pdms", float("nan")):.2f} &rarr; {sol_s.get("pdms", float("nan")):.2f}</h3>'
            f'<div class="grid">{bev}<div>{speed}{scores}</div></div>'
            + "".join(f"<p>{f}</p>" for f in facts) + "</div>")
