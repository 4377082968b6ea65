"""The per-second feature table that tag rules are written over: every column declared once (name, DuckDB type,
unit, description, allowed values), one row per (vehicle_id, ts_s)."""

from __future__ import annotations

from dataclasses import dataclass

from fleetloop.contract import COUNT_RADII_M, DRIVE_MODES
from fleetloop.contract import COUNTED_CLASSES as OBJECT_CLASSES
from fleetloop.contract import LIGHT_LABELS as LIGHTS
from fleetloop.contract import TRAFFIC_LIGHT_STATES as LIGHT_STATES
from fleetloop.contract import WEATHER_LABELS as WEATHERS
from fleetloop.definitions import read_seed, trigger_catalog

TURNS = ("left", "right", "straight")
LANE_CHANGES = ("none", "left", "right")
TRIGGER_PREFIX = "trig_"
# columns the tag store carries beside the bitmap (the key and what queries filter on)
KEY_COLUMNS = ("vehicle_id", "ts_s")
FILTER_COLUMNS = ("site_id", "route_id", "version", "vehicle_class")


@dataclass(frozen=True)
class Column:
    """One column of the feature table."""

    name: str
    type: str  # DuckDB type
    unit: str
    description: str
    allowed: tuple[str, ...] | None = None
    nullable: bool = False


def count_column(object_class: str, radius_m: int) -> str:
    """Name of the count of ``object_class`` objects within ``radius_m`` of the ego."""
    return f"n_{object_class}_{radius_m}m"


def trigger_column(trigger: str) -> str:
    return TRIGGER_PREFIX + trigger


def _columns() -> tuple[Column, ...]:
    road_types = tuple(r["road_type"] for r in read_seed("road_types"))
    classes = tuple(r["vehicle_class"] for r in read_seed("vehicle_classes"))
    base = (
        Column("vehicle_id", "VARCHAR", "", "fleet-wide vehicle identifier"),
        Column("ts_s", "BIGINT", "s", "the UTC second, epoch seconds"),
        Column("site_id", "VARCHAR", "", "operating site"),
        Column("route_id", "VARCHAR", "", "route being driven, null when idle", nullable=True),
        Column("version", "VARCHAR", "", "software version running"),
        Column("vehicle_class", "VARCHAR", "", "vehicle class", classes),
        Column("speed_mps", "DOUBLE", "m/s", "mean ground speed over the second"),
        Column("acc_lon_mps2", "DOUBLE", "m/s2", "mean longitudinal acceleration over the second"),
        Column("yaw_rate_rps", "DOUBLE", "rad/s", "mean yaw rate, CCW positive"),
        Column("drive_mode", "VARCHAR", "", "who drives", DRIVE_MODES),
        Column("road_type", "VARCHAR", "", "road class under the vehicle", road_types),
        Column("lane_count", "INTEGER", "1", "lanes in the ego's direction"),
        Column("in_junction", "BOOLEAN", "", "inside a junction area"),
        Column("junction_signalised", "BOOLEAN", "", "the junction (in or ahead) has traffic lights"),
        Column("on_crosswalk", "BOOLEAN", "", "ego footprint on a crosswalk"),
        Column("in_merge", "BOOLEAN", "", "on a merge section"),
        Column("in_tunnel", "BOOLEAN", "", "inside a tunnel"),
        Column("turn", "VARCHAR", "", "manoeuvre at the current lane or junction", TURNS),
        Column("lane_change", "VARCHAR", "", "lane change in progress", LANE_CHANGES),
        Column("weather", "VARCHAR", "", "from the wiper and rain sensor", WEATHERS),
        Column("light", "VARCHAR", "", "from the ambient-light sensor", LIGHTS),
    )
    counts = tuple(
        Column(count_column(c, r), "INTEGER", "1", f"tracked {c} objects within {r} m")
        for c in OBJECT_CLASSES for r in COUNT_RADII_M
    )
    scene = (
        Column("lead_class", "VARCHAR", "", "class of the lead object in the ego lane", OBJECT_CLASSES, True),
        Column("lead_gap_m", "DOUBLE", "m", "bumper-to-bumper gap to the lead object", nullable=True),
        Column("lead_rel_speed_mps", "DOUBLE", "m/s", "lead speed minus ego speed (negative: closing)",
               nullable=True),
        Column("lead_time_headway_s", "DOUBLE", "s", "gap divided by ego speed", nullable=True),
        Column("vru_distance_m", "DOUBLE", "m", "distance to the nearest vulnerable road user", nullable=True),
        Column("vru_bearing_deg", "DOUBLE", "deg", "bearing of the nearest VRU, 0 ahead, CCW positive",
               nullable=True),
        Column("min_track_confidence", "DOUBLE", "1", "lowest confidence of the tracks of the second",
               nullable=True),
        Column("flickering_tracks", "INTEGER", "1", "tracks that appeared and vanished within the second"),
        Column("tl_state", "VARCHAR", "", "state of the traffic light ahead", LIGHT_STATES, True),
        Column("tl_distance_m", "DOUBLE", "m", "distance to the stop line of the traffic light ahead",
               nullable=True),
        Column("takeover_active", "BOOLEAN", "", "a safety driver or remote operator has taken over"),
        Column("remote_active", "BOOLEAN", "", "a remote operator is connected"),
    )
    triggers = tuple(
        Column(trigger_column(t), "BOOLEAN", "", f"warehouse trigger {t} fires in this second")
        for t in trigger_catalog()
    )
    return base + counts + scene + triggers


FEATURE_COLUMNS: tuple[Column, ...] = _columns()


def create_feature_table_sql(name: str, *, temporary: bool = False) -> str:
    """``create table`` of an empty, typed feature table called ``name``."""
    columns = ", ".join(f"{c.name} {c.type}" for c in FEATURE_COLUMNS)
    return f"create {'temporary ' if temporary else ''}table {name} ({columns})"


def feature_table_markdown() -> str:
    """The feature table as a Markdown table (the one in ``docs/mining.md``)."""
    lines = ["| column | type | unit | description | values |", "|---|---|---|---|---|"]
    for c in FEATURE_COLUMNS:
        values = ", ".join(c.allowed) if c.allowed else ""
        null = " (null when absent)" if c.nullable else ""
        lines.append(f"| `{c.name}` | {c.type} | {c.unit} | {c.description}{null} | {values} |")
    return "\n".join(lines)
