"""The ego's logged 10 Hz path around a window (a list of ``(ts, x_m, y_m, heading_rad, speed_mps)`` structs): the
published file carries no other ego position, so the scenes' example clips and the problems' example cases keep
theirs."""

from __future__ import annotations

from fleetloop.mining.clips import Padding

POSE_TABLE = "ods.ods_pose"


def with_path_sql(windows: str, start: str, end: str, padding: Padding) -> str:
    """Every row of the relation ``windows`` (with ``vehicle_id`` and the timestamps ``start`` and ``end``, the start
    of the window's last second) plus ``path``: the ego's pose from ``padding.before_s`` before ``start`` to
    ``padding.after_s`` after the end of that last second. Windows without a pose sample are left out."""
    return f"""
        select w.*, list(struct_pack(ts := p.ts, x_m := p.x_m, y_m := p.y_m, heading_rad := p.heading_rad,
                                     speed_mps := p.speed_mps) order by p.ts) as path
        from {windows} as w
        inner join {POSE_TABLE} as p
            on p.vehicle_id = w.vehicle_id and p.ts >= w.{start} - to_seconds({padding.before_s})
            and p.ts < w.{end} + to_seconds({1 + padding.after_s})
        group by all"""
