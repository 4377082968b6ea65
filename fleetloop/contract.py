"""The raw log contract: every source a vehicle emits, declared once.

The loader validates against it, the ODS tables are created from it, the simulator writes to it and
the README's source table is generated from it (``fleetloop contract --markdown``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleetloop.definitions import read_seed

DRIVE_MODES = ("auto", "remote", "manual", "fault")
ROAD_TYPES = tuple(r["road_type"] for r in read_seed("road_types"))  # seeds/road_types.csv, in file order
TASK_STATUSES = ("dispatched", "driving", "waiting", "done")
TAKEOVER_CHANNELS = ("joystick", "desktop", "mobile")
TAKEOVER_INITIATORS = ("vehicle_request", "operator")
CALL_TYPES = ("call_driver", "call_guard")
ERROR_SEVERITIES = ("info", "warning", "error", "fatal")
INCIDENT_CATEGORIES = (
    "collision_vehicle",
    "collision_vru",
    "collision_static",
    "property_damage",
    "vru_fall_no_contact",
    "severe_near_miss",
    "public_safety_complaint",
    "service_complaint",
)
AT_FAULT = ("ours", "other", "unknown")
OBJECT_CLASSES = ("car", "truck", "bus", "pedestrian", "cyclist", "tricycle", "scooter", "unknown")
COUNTED_CLASSES = ("pedestrian", "cyclist", "tricycle", "scooter", "car", "truck", "bus")  # known classes
COUNT_RADII_M = (10, 30, 50)
TRAFFIC_LIGHT_STATES = ("red", "amber", "green")
WEATHER_LABELS = ("clear", "rain", "fog", "snow")
LIGHT_LABELS = ("day", "dusk", "night")

# Physical plausibility bounds shared by the loader and the simulator.
MAX_SPEED_MPS = 45.0
MAX_ABS_ACC_MPS2 = 15.0
# Identifiers: non-empty, no surrounding or inner white space or control characters.
ID_PATTERN = r"^[^\s\x00-\x1f\x7f]+$"


@dataclass(frozen=True)
class Field:
    """One column of a raw source."""

    name: str
    type: str  # DuckDB type of the ODS column: VARCHAR, DOUBLE, BIGINT, BOOLEAN, TIMESTAMPTZ, DOUBLE[]
    unit: str = ""
    description: str = ""
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None  # bounds of a DOUBLE, or of every element of a DOUBLE[]
    maximum: float | None = None
    pattern: str | None = None  # regular expression a VARCHAR value must match in full

    @property
    def is_timestamp(self) -> bool:
        return self.type == "TIMESTAMPTZ"


@dataclass(frozen=True)
class Source:
    """A raw log source: its fields, primary key, rate and default landing format."""

    name: str
    description: str
    rate: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    default_format: str = "jsonl"  # jsonl | jsonl.gz | parquet
    partition_ts: str = "ts"  # the timestamp column that decides the day partition
    orderings: tuple[tuple[str, str], ...] = ()  # (earlier, later): the later field is never before the earlier
    fields_by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields_by_name", {f.name: f for f in self.fields})
        ordered = [k for pair in self.orderings for k in pair]
        missing = [k for k in (*self.primary_key, self.partition_ts, *ordered) if k not in self.fields_by_name]
        if missing:
            raise ValueError(f"source {self.name}: unknown key columns {missing}")

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def ods_table(self) -> str:
        return f"ods_{self.name}"


def _ts(name: str = "ts", description: str = "UTC timestamp of the sample") -> Field:
    return Field(name, "TIMESTAMPTZ", "UTC", description)


def _id(name: str, description: str, nullable: bool = False) -> Field:
    return Field(name, "VARCHAR", description=description, nullable=nullable, pattern=ID_PATTERN)


_VEHICLE = _id("vehicle_id", "fleet-wide vehicle identifier")
_TASK_ID = _id("task_id", "dispatch task, null when idle", nullable=True)
_ROUTE_ID = _id("route_id", "route being driven, null when idle", nullable=True)
_TASK_STATUS = Field("task_status", "VARCHAR", allowed=TASK_STATUSES, description="dispatch state")
_DRIVE_MODE = Field("drive_mode", "VARCHAR", allowed=DRIVE_MODES, description="who drives")
_SPEED = Field("speed_mps", "DOUBLE", "m/s", "ground speed", minimum=0.0, maximum=MAX_SPEED_MPS)
_HEADING = Field("heading_rad", "DOUBLE", "rad", "heading in the site frame, CCW from +x",
                 minimum=-3.1416, maximum=3.1416)


def _count(name: str, description: str) -> Field:
    return Field(name, "BIGINT", "1", description, minimum=0.0)


def _perception_summary() -> Source:
    counts = tuple(_count(f"n_{c}_{r}m", f"tracked {c} objects whose centre is within {r} m of the ego's centre")
                   for c in COUNTED_CLASSES for r in COUNT_RADII_M)
    return Source(
        "perception_summary",
        "the perception stack's summary of every driven second (task driving), at the whole second: counts per "
        "known class and radius, the lead object in the ego lane, the nearest vulnerable road user (pedestrian, "
        "cyclist, tricycle, scooter), track quality over the second and the traffic light ahead; objects of "
        "class unknown count only for confidence and flicker; null fields mean none",
        "1 Hz",
        (
            _ts("ts", "UTC whole second summarised"),
            _VEHICLE,
            *counts,
            Field("lead_class", "VARCHAR", allowed=COUNTED_CLASSES, nullable=True,
                  description="class of the nearest object ahead in the ego lane"),
            _id("lead_track_id", "tracker id of that lead object (a new id is a new lead)", nullable=True),
            Field("lead_track_age_s", "DOUBLE", "s", "time that lead's track has been tracked without a break, "
                  "in or out of the ego lane (0 when just acquired)", nullable=True, minimum=0.0,
                  maximum=86400.0),
            Field("lead_gap_m", "DOUBLE", "m", "bumper-to-bumper gap along the lane to the lead object",
                  nullable=True, minimum=-30.0, maximum=1000.0),
            Field("lead_rel_speed_mps", "DOUBLE", "m/s", "lead speed along the lane minus ego speed",
                  nullable=True, minimum=-2 * MAX_SPEED_MPS, maximum=2 * MAX_SPEED_MPS),
            Field("lead_time_headway_s", "DOUBLE", "s", "lead gap divided by ego speed; null when standing",
                  nullable=True, minimum=-1000.0, maximum=100000.0),
            Field("vru_distance_m", "DOUBLE", "m", "centre distance to the nearest vulnerable road user",
                  nullable=True, minimum=0.0, maximum=1000.0),
            Field("vru_bearing_deg", "DOUBLE", "deg", "bearing of that road user, 0 ahead, CCW positive",
                  nullable=True, minimum=-180.0, maximum=180.0),
            Field("min_track_confidence", "DOUBLE", "1", "lowest confidence of any track during the second",
                  nullable=True, minimum=0.0, maximum=1.0),
            _count("flickering_tracks", "tracks seen during the second whose whole life is shorter than 1 s"),
            _count("oncoming_50m", "road users within 50 m moving against the ego in the opposing lanes"),
            Field("tl_state", "VARCHAR", allowed=TRAFFIC_LIGHT_STATES, nullable=True,
                  description="state of the next traffic light ahead in sight, for the ego's movement"),
            Field("tl_distance_m", "DOUBLE", "m", "ego front bumper to that light's stop line",
                  nullable=True, minimum=0.0, maximum=1000.0),
        ),
        ("vehicle_id", "ts"),
    )


def _environment() -> Source:
    return Source(
        "environment",
        "body sensors every heartbeat second: the rain-light sensor, automatic wiper, front camera visibility "
        "estimate and outside temperature as read, with the labels the body controller derives from them "
        "(the same logic that runs the automatic wipers and headlamps); a vehicle sends both, so the warehouse "
        "can use the labels and still audit them against the readings",
        "1 Hz",
        (
            _ts("ts", "UTC second of the reading"),
            _VEHICLE,
            Field("rain_sensor_pct", "DOUBLE", "%", "windscreen wetness", minimum=0.0, maximum=100.0),
            Field("wiper_level", "BIGINT", "1", "automatic wiper: 0 off, 1 interval, 2 low, 3 high",
                  minimum=0.0, maximum=3.0),
            Field("ambient_lux", "DOUBLE", "lx", "ambient light", minimum=0.0, maximum=200000.0),
            Field("visibility_m", "DOUBLE", "m", "front camera visibility estimate", minimum=0.0,
                  maximum=20000.0),
            Field("outside_temp_c", "DOUBLE", "degC", "outside air temperature", minimum=-60.0, maximum=70.0),
            Field("weather", "VARCHAR", allowed=WEATHER_LABELS,
                  description="on-board label: wet and cold is snow, wet is rain, dry and low visibility is fog"),
            Field("light", "VARCHAR", allowed=LIGHT_LABELS,
                  description="on-board label from ambient light (automatic headlamps)"),
        ),
        ("vehicle_id", "ts"),
    )


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "heartbeat",
            "business heartbeat of each vehicle",
            "1 Hz",
            (
                _ts(),
                _VEHICLE,
                _DRIVE_MODE,
                _SPEED,
                Field("road_type", "VARCHAR", allowed=ROAD_TYPES, description="road class under the vehicle"),
                _TASK_ID,
                _TASK_STATUS,
                Field("city", "VARCHAR", description="city code"),
                _id("site_id", "operating site"),
                _ROUTE_ID,
                Field("lat", "DOUBLE", "deg", "WGS84 latitude", minimum=-90.0, maximum=90.0),
                Field("lon", "DOUBLE", "deg", "WGS84 longitude", minimum=-180.0, maximum=180.0),
            ),
            ("vehicle_id", "ts"),
        ),
        Source(
            "pose",
            "pose and chassis line; never decides what an event is",
            "10 Hz",
            (
                _ts(),
                _VEHICLE,
                Field("x_m", "DOUBLE", "m", "east position in the site frame"),
                Field("y_m", "DOUBLE", "m", "north position in the site frame"),
                _SPEED,
                Field("acc_lon_mps2", "DOUBLE", "m/s2", "longitudinal acceleration",
                      minimum=-MAX_ABS_ACC_MPS2, maximum=MAX_ABS_ACC_MPS2),
                Field("acc_lat_mps2", "DOUBLE", "m/s2", "lateral acceleration",
                      minimum=-MAX_ABS_ACC_MPS2, maximum=MAX_ABS_ACC_MPS2),
                _HEADING,
                Field("yaw_rate_rps", "DOUBLE", "rad/s", "yaw rate, CCW positive", minimum=-3.0, maximum=3.0),
                _DRIVE_MODE,
                Field("steering_deg", "DOUBLE", "deg", "steering wheel angle", minimum=-720.0, maximum=720.0),
                Field("throttle_pct", "DOUBLE", "%", "throttle pedal, null where not recorded",
                      nullable=True, minimum=0.0, maximum=100.0),
                Field("brake_pct", "DOUBLE", "%", "brake pedal, null where not recorded",
                      nullable=True, minimum=0.0, maximum=100.0),
                Field("is_emergency_brake", "BOOLEAN", description="AEB engaged"),
                _TASK_ID,
                _ROUTE_ID,
                _TASK_STATUS,
            ),
            ("vehicle_id", "ts"),
            default_format="parquet",
        ),
        Source(
            "takeover",
            "remote takeover by an operator",
            "event",
            (
                _id("takeover_id", "takeover identifier"),
                _VEHICLE,
                _ts("ts_start", "UTC start of the takeover"),
                _ts("ts_end", "UTC end of the takeover"),
                _id("operator_id", "remote operator"),
                Field("channel", "VARCHAR", allowed=TAKEOVER_CHANNELS, description="operator console"),
                Field("initiator", "VARCHAR", allowed=TAKEOVER_INITIATORS, description="who asked for it"),
            ),
            ("takeover_id",),
            partition_ts="ts_start",
            orderings=(("ts_start", "ts_end"),),
        ),
        Source(
            "vehicle_call",
            "vehicle asks for a driver or a guard",
            "event",
            (
                _ts(),
                _VEHICLE,
                Field("call_type", "VARCHAR", allowed=CALL_TYPES, description="who is called"),
                Field("reason", "VARCHAR", nullable=True, description="free-text reason"),
            ),
            ("vehicle_id", "ts", "call_type"),
        ),
        Source(
            "error_code",
            "error code raised by an on-board module",
            "event",
            (
                _ts(),
                _VEHICLE,
                Field("code", "VARCHAR", description="error code, see the error-code catalog"),
                Field("module", "VARCHAR", description="raising module"),
                Field("severity", "VARCHAR", allowed=ERROR_SEVERITIES, description="severity"),
            ),
            ("vehicle_id", "ts", "code"),
        ),
        Source(
            "asr_note",
            "operator speech as text",
            "event",
            (
                _ts(),
                _VEHICLE,
                _id("operator_id", "speaking operator"),
                _id("takeover_id", "takeover the note belongs to", nullable=True),
                Field("text", "VARCHAR", description="transcribed note, zh or en"),
            ),
            ("vehicle_id", "ts", "operator_id"),
        ),
        Source(
            "incident",
            "recorded incident",
            "event",
            (
                _id("incident_id", "incident identifier"),
                _ts(),
                _VEHICLE,
                Field("category", "VARCHAR", allowed=INCIDENT_CATEGORIES, description="what happened"),
                Field("at_fault", "VARCHAR", allowed=AT_FAULT, description="responsibility"),
                Field("injury", "BOOLEAN", description="anyone injured"),
                Field("police_report", "BOOLEAN", description="police attended or a formal record exists"),
                Field("description", "VARCHAR", nullable=True, description="free text"),
            ),
            ("incident_id",),
        ),
        Source(
            "perception_objects",
            "tracked objects around the ego, case windows only",
            "10 Hz",
            (
                _ts(),
                _VEHICLE,
                _id("object_id", "track identifier"),
                Field("class", "VARCHAR", allowed=OBJECT_CLASSES, description="object class"),
                Field("x_m", "DOUBLE", "m", "east position in the site frame"),
                Field("y_m", "DOUBLE", "m", "north position in the site frame"),
                _HEADING,
                Field("vx_mps", "DOUBLE", "m/s", "velocity east", minimum=-MAX_SPEED_MPS, maximum=MAX_SPEED_MPS),
                Field("vy_mps", "DOUBLE", "m/s", "velocity north", minimum=-MAX_SPEED_MPS, maximum=MAX_SPEED_MPS),
                Field("length_m", "DOUBLE", "m", "box length", minimum=0.0, maximum=30.0),
                Field("width_m", "DOUBLE", "m", "box width", minimum=0.0, maximum=5.0),
                Field("confidence", "DOUBLE", "1", "detection confidence", minimum=0.0, maximum=1.0),
            ),
            ("vehicle_id", "ts", "object_id"),
            default_format="parquet",
        ),
        Source(
            "planner_debug",
            "planner candidate scores and commanded steering",
            "10 Hz",
            (
                _ts(),
                _VEHICLE,
                Field("candidate_scores", "DOUBLE[]", "1", "top-k candidate scores, best first",
                      minimum=0.0, maximum=1.0),
                Field("commanded_steering_deg", "DOUBLE", "deg", "commanded steering wheel angle",
                      minimum=-720.0, maximum=720.0),
            ),
            ("vehicle_id", "ts"),
            default_format="parquet",
        ),
        Source(
            "vehicle_registry",
            "fleet registry snapshot: each vehicle's class and home site",
            "daily snapshot",
            (
                _ts("ts", "UTC time of the snapshot"),
                _VEHICLE,
                Field("vehicle_class", "VARCHAR", description="see seed vehicle_classes"),
                Field("city", "VARCHAR", description="city code"),
                _id("site_id", "home site"),
            ),
            ("vehicle_id", "ts"),
        ),
        Source(
            "software_deployment",
            "software version installed on a vehicle",
            "event",
            (
                _ts("ts", "UTC time the deployment record was written"),
                _VEHICLE,
                Field("version", "VARCHAR", description="software version, see seed software_versions"),
                _ts("deployed_at", "UTC time from which the version drives"),
            ),
            ("vehicle_id", "deployed_at"),
        ),
        _perception_summary(),
        _environment(),
    )
}


def source(name: str) -> Source:
    """The contract of one source; a clear error for an unknown name."""
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None


def markdown_table() -> str:
    """The contract as Markdown, for the README and docs."""
    lines = []
    for s in SOURCES.values():
        lines.append(f"### `{s.name}` ({s.rate}, default `{s.default_format}`)")
        order = "".join(f" `{later}` is never before `{earlier}`;" for earlier, later in s.orderings)
        lines.append(f"{s.description}. Primary key: `{', '.join(s.primary_key)}`; "
                     f"partitioned by `{s.partition_ts}`;{order} ODS table `{s.ods_table}`.\n")
        lines.append("| field | type | unit | null | allowed / range | description |")
        lines.append("|---|---|---|---|---|---|")
        for f in s.fields:
            if f.allowed:
                domain = ", ".join(f.allowed)
            elif f.minimum is not None or f.maximum is not None:
                domain = f"[{f.minimum}, {f.maximum}]"
            elif f.pattern:
                domain = f"matches `{f.pattern}`"
            else:
                domain = ""
            lines.append(f"| `{f.name}` | {f.type} | {f.unit} | {'yes' if f.nullable else 'no'} "
                         f"| {domain} | {f.description} |")
        lines.append("")
    return "\n".join(lines)
