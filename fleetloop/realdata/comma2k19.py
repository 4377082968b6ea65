"""Import the comma2k19 example drive (a real I-280 segment, MIT) into the raw landing contract.

Input: ``telemetry_10hz.csv`` (10 Hz, local ENU frame) and ``gnss_ublox.csv`` of the shared folder.
Output, for the drive's UTC day: pose (10 Hz, Parquet), heartbeat (1 Hz, JSON lines), and one
vehicle_registry and software_deployment record, each partition folder with the data's
``LICENSE_NOTICE.txt`` beside the files.

Mapping choices (documented because the source is not a robotaxi log):
- time: ``gps_tow_s`` of GPS week ``gps_week`` (global_pose_20hz.csv) minus the GPS-UTC leap seconds
  gives UTC; checked against the u-blox ``utc_ms`` clock (they agree within ``MAX_CLOCK_DISAGREEMENT_S``;
  u-blox stamps the fix, about 0.2 s before the log time).
- pose: x_m/y_m = east_m/north_m (ENU metres, the site frame), heading_rad = heading_rad_enu (already
  CCW from east, wrapped to [-pi, pi]), yaw_rate_rps as recorded (CCW positive: it correlates positively
  with d heading/dt), acc_lon_mps2 = lon_acc_can_mps2 (d speed/dt of the CAN wheel speed, consistent
  with speed_mps), acc_lat_mps2 = lat_acc_imu_left_mps2 (left positive), steering_deg =
  steering_angle_deg (left positive). Pedal positions are not in the recording: throttle_pct and
  brake_pct are null (not recorded) and is_emergency_brake false.
- drive_mode 'manual': a human drove this car. task_status 'driving' throughout.
- road_type 'trunk' (a public road at highway speed; the contract has no motorway class), vehicle class
  'urban_delivery' (the seed class closest to a passenger car's size and dynamics), software version
  'v3.2.0' (the fleet baseline, only so the warehouse joins resolve); all three can be overridden.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fleetloop.contract import SOURCES
from fleetloop.paths import partition_dir

NOTICE = "LICENSE_NOTICE.txt"
GPS_EPOCH = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)
# GPS - UTC leap seconds, from the date they took effect (IERS bulletins); newest first.
LEAP_SECONDS = ((dt.date(2017, 1, 1), 18), (dt.date(2015, 7, 1), 17), (dt.date(2012, 7, 1), 16))
MAX_CLOCK_DISAGREEMENT_S = 0.5
HEARTBEAT_EVERY = 10  # 10 Hz telemetry -> 1 Hz heartbeat
SITE_ID = "comma2k19_i280"
ROUTE_ID = "comma2k19_i280_nb"
CITY = "san_francisco"


@dataclass(frozen=True)
class ImportOptions:
    """What to call the recorded car and where its records go."""

    vehicle_id: str | None = None  # default: comma2k19_<dongle id from the notice>
    day: dt.date | None = None  # shift the drive by whole days onto this UTC day (default: as recorded)
    vehicle_class: str = "urban_delivery"
    version: str = "v3.2.0"
    road_type: str = "trunk"


@dataclass(frozen=True)
class ImportResult:
    day: dt.date
    vehicle_id: str
    rows: dict[str, int]
    files: list[Path]


def gps_to_utc(week: int, tow_s: np.ndarray) -> np.ndarray:
    """UTC epoch seconds of GPS week/time-of-week stamps."""
    gps = GPS_EPOCH.timestamp() + week * 7 * 86400 + np.asarray(tow_s, dtype=float)
    day = dt.datetime.fromtimestamp(float(gps[0]), dt.UTC).date()
    for since, leap in LEAP_SECONDS:
        if day >= since:
            return gps - leap
    raise ValueError(f"no leap-second entry for {day}; extend LEAP_SECONDS")


def _segment_name(src: Path) -> str:
    """The dongle id of the recording, from the notice's ``Files:`` line (else the folder name)."""
    text = (src / NOTICE).read_text(encoding="utf-8")
    m = re.search(r"Example_\d+/([0-9a-f]+)\|", text)
    return m.group(1) if m else src.name


def read_drive(src: Path) -> tuple[pd.DataFrame, str]:
    """The telemetry with a UTC ``ts`` column, and the recording's name; raises if the clocks disagree."""
    src = Path(src)
    for name in ("telemetry_10hz.csv", "gnss_ublox.csv", "global_pose_20hz.csv", NOTICE):
        if not (src / name).is_file():
            raise FileNotFoundError(f"{src / name} is missing (expected a comma2k19 example folder)")
    tel = pd.read_csv(src / "telemetry_10hz.csv")
    weeks = pd.read_csv(src / "global_pose_20hz.csv", usecols=["gps_week"])["gps_week"].unique()
    if len(weeks) != 1:
        raise ValueError(f"drive spans GPS weeks {sorted(weeks)}; not supported")
    utc = gps_to_utc(int(weeks[0]), tel["gps_tow_s"].to_numpy())
    ublox = pd.read_csv(src / "gnss_ublox.csv")
    offset_gps = float(np.median(utc - tel["t_boot_s"]))
    offset_ublox = float(np.median(ublox["utc_ms"] / 1000.0 - ublox["t_boot_s"]))
    if abs(offset_gps - offset_ublox) > MAX_CLOCK_DISAGREEMENT_S:
        raise ValueError(f"GPS time and u-blox UTC disagree by {offset_gps - offset_ublox:.3f} s")
    tel["ts"] = pd.to_datetime(np.round(utc * 1e6).astype("int64"), unit="us", utc=True)
    return tel, _segment_name(src)


def _wrap(angle: pd.Series) -> pd.Series:
    return np.arctan2(np.sin(angle), np.cos(angle))


def import_comma2k19(src: Path, landing: Path, options: ImportOptions = ImportOptions()) -> ImportResult:
    """Write the drive into ``landing`` as raw contract files; returns the day, vehicle and row counts."""
    tel, segment = read_drive(Path(src))
    vehicle = options.vehicle_id or f"comma2k19_{segment}"
    recorded_day = tel["ts"].iloc[0].date()
    if tel["ts"].iloc[-1].date() != recorded_day:
        raise ValueError("the drive crosses midnight UTC; not supported")
    day = options.day or recorded_day
    tel["ts"] = tel["ts"] + pd.Timedelta(days=(day - recorded_day).days)
    task = f"{segment}-{tel['ts'].iloc[0]:%Y%m%dT%H%M%S}"
    n = len(tel)
    pose = pa.table({
        "ts": pa.array(tel["ts"], pa.timestamp("us", tz="UTC")),
        "vehicle_id": [vehicle] * n,
        "x_m": tel["east_m"], "y_m": tel["north_m"],
        "speed_mps": tel["speed_mps"],
        "acc_lon_mps2": tel["lon_acc_can_mps2"], "acc_lat_mps2": tel["lat_acc_imu_left_mps2"],
        "heading_rad": _wrap(tel["heading_rad_enu"]), "yaw_rate_rps": tel["yaw_rate_rps"],
        "drive_mode": ["manual"] * n,
        "steering_deg": tel["steering_angle_deg"],
        "throttle_pct": pa.nulls(n, pa.float64()), "brake_pct": pa.nulls(n, pa.float64()),
        "is_emergency_brake": np.zeros(n, dtype=bool),
        "task_id": [task] * n, "route_id": [ROUTE_ID] * n, "task_status": ["driving"] * n,
    })
    if pose.column_names != SOURCES["pose"].columns:
        raise AssertionError("pose columns drifted from the contract")
    hb = tel.iloc[::HEARTBEAT_EVERY]
    heartbeat = [
        {"ts": _iso(r.ts), "vehicle_id": vehicle, "drive_mode": "manual", "speed_mps": float(r.speed_mps),
         "road_type": options.road_type, "task_id": task, "task_status": "driving", "city": CITY,
         "site_id": SITE_ID, "route_id": ROUTE_ID, "lat": float(r.lat_deg), "lon": float(r.lon_deg)}
        for r in hb.itertuples()
    ]
    midnight = _iso(pd.Timestamp(dt.datetime.combine(day, dt.time(), dt.UTC)))
    registry = [{"ts": midnight, "vehicle_id": vehicle, "vehicle_class": options.vehicle_class, "city": CITY,
                 "site_id": SITE_ID}]
    deployment = [{"ts": midnight, "vehicle_id": vehicle, "version": options.version, "deployed_at": midnight}]

    stem = f"comma2k19-{segment}"
    files = [_write_parquet(landing, "pose", day, f"{stem}.parquet", pose)]
    for source, records in (("heartbeat", heartbeat), ("vehicle_registry", registry),
                            ("software_deployment", deployment)):
        files.append(_write_jsonl(landing, source, day, f"{stem}.jsonl", records))
    for source in SOURCES:  # the drive carries nothing of the other sources: an empty day, not a missing one
        _folder(landing, source, day)
    for folder in {f.parent for f in files}:
        shutil.copyfile(Path(src) / NOTICE, folder / NOTICE)
    shutil.copyfile(Path(src) / NOTICE, Path(landing) / f"{NOTICE.removesuffix('.txt')}-{stem}.txt")
    rows = {"pose": n, "heartbeat": len(heartbeat), "vehicle_registry": 1, "software_deployment": 1}
    return ImportResult(day=day, vehicle_id=vehicle, rows=rows, files=files)


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _folder(landing: Path, source: str, day: dt.date) -> Path:
    folder = partition_dir(landing, source, day)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_parquet(landing: Path, source: str, day: dt.date, name: str, table: pa.Table) -> Path:
    path = _folder(landing, source, day) / name
    pq.write_table(table, path)
    return path


def _write_jsonl(landing: Path, source: str, day: dt.date, name: str, records: list[dict]) -> Path:
    path = _folder(landing, source, day) / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
