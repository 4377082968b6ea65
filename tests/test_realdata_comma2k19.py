"""The comma2k19 import: a real I-280 drive becomes raw contract files that load into ODS without loss."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fleetloop.ingest import connect
from fleetloop.realdata.comma2k19 import NOTICE, ImportOptions, import_comma2k19
from fleetloop_shell.cli import main as cli_main
from tests.fixtures.ods import load
from tests.fixtures.realdata import COMMA2K19_DIR

SRC = COMMA2K19_DIR
SOURCES = ("pose", "heartbeat", "vehicle_registry", "software_deployment")
RECORDED_DAY = dt.date(2018, 8, 2)



@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("comma2k19")
    result = import_comma2k19(SRC, root / "landing")
    con = connect(root / "wh.duckdb")
    reports = {s: load(con, root / "landing", s, result.day) for s in SOURCES}
    yield result, reports, con
    con.close()


@pytest.fixture(scope="module")
def csv() -> pd.DataFrame:
    return pd.read_csv(SRC / "telemetry_10hz.csv")


def test_loads_into_ods_without_quarantine(imported, csv):
    result, reports, con = imported
    assert result.day == RECORDED_DAY
    for source, r in reports.items():
        assert (r.rows_quarantined, r.rows_duplicate, r.rows_unaccounted, r.files_quarantined) == (0, 0, 0, 0), source
    assert reports["pose"].rows_loaded == len(csv)
    assert reports["heartbeat"].rows_loaded == len(range(0, len(csv), 10))
    assert con.execute("select count(*) from ods.ods_quarantine").fetchone()[0] == 0


def test_distance_matches_the_recording(imported, csv):
    _, _, con = imported
    pose = con.execute("select epoch(ts), speed_mps, x_m, y_m from ods.ods_pose order by ts").fetchnumpy()
    ods_m = np.trapezoid(pose["speed_mps"], pose["epoch(ts)"])
    csv_m = np.trapezoid(csv["speed_mps"], csv["t_boot_s"])
    assert ods_m == pytest.approx(csv_m, rel=1e-6)
    path = np.hypot(np.diff(pose["x_m"]), np.diff(pose["y_m"])).sum()
    assert ods_m == pytest.approx(path, rel=0.02)  # odometry vs GNSS track: independent sensors


def test_timestamps_are_real_utc(imported, csv):
    _, _, con = imported
    first, last = con.execute("select min(ts), max(ts) from ods.ods_pose").fetchone()
    ublox = pd.read_csv(SRC / "gnss_ublox.csv")
    offset = float(np.median(ublox["utc_ms"] / 1000.0 - ublox["t_boot_s"]))  # u-blox UTC clock vs boot time
    want = dt.datetime.fromtimestamp(csv["t_boot_s"].iloc[0] + offset, dt.UTC)
    assert abs((first - want).total_seconds()) < 0.5
    assert first.date() == RECORDED_DAY and first.hour == 16  # 2018-08-02--08-34-47 PDT + 40 min
    assert (last - first).total_seconds() == pytest.approx(csv["t_boot_s"].iloc[-1] - csv["t_boot_s"].iloc[0], abs=1e-3)


def test_heading_and_yaw_conventions(imported):
    _, _, con = imported
    p = con.execute("select epoch(ts) t, x_m, y_m, heading_rad, yaw_rate_rps, speed_mps, drive_mode "
                    "from ods.ods_pose order by ts").df()
    track = np.arctan2(np.gradient(p.y_m), np.gradient(p.x_m))
    assert np.abs(np.angle(np.exp(1j * (track - p.heading_rad)))).mean() < 0.01
    assert np.corrcoef(np.gradient(np.unwrap(p.heading_rad), p.t), p.yaw_rate_rps)[0, 1] > 0.2
    assert set(p.drive_mode) == {"manual"}


def test_heartbeat_positions_and_registry_join(imported, csv):
    _, _, con = imported
    hb = con.execute("select lat, lon, speed_mps from ods.ods_heartbeat order by ts").fetchnumpy()
    np.testing.assert_allclose(hb["lat"], csv["lat_deg"].iloc[::10], atol=1e-9)
    joined = con.execute("select count(*) from ods.ods_heartbeat h join ods.ods_vehicle_registry r using (vehicle_id)"
                         " join ods.ods_software_deployment d using (vehicle_id) where h.ts >= d.deployed_at"
                         ).fetchone()[0]
    assert joined == len(hb["lat"])


def test_licence_notice_travels_with_every_partition(imported):
    result, _, _ = imported
    notice = (SRC / NOTICE).read_bytes()
    folders = {f.parent for f in result.files}
    assert len(folders) == len(SOURCES)
    for folder in folders:
        assert (folder / NOTICE).read_bytes() == notice
    landing = folders.pop().parents[1]
    assert any(p.read_bytes() == notice for p in landing.glob("LICENSE_NOTICE*.txt"))


def test_cli_can_move_the_drive_onto_another_day(tmp_path, capsys):
    code = cli_main(["import", "comma2k19", "--src", str(SRC), "--landing", str(tmp_path / "l"),
                     "--vehicle-id", "car_1", "--date", "2026-11-02"])
    assert code == 0 and "car_1" in capsys.readouterr().out
    with connect(tmp_path / "wh.duckdb") as con:
        r = load(con, tmp_path / "l", "pose", "2026-11-02")
        assert (r.rows_loaded, r.rows_quarantined) == (599, 0)
        assert con.execute("select distinct vehicle_id, strftime(ts, '%H:%M') from ods.ods_pose limit 1"
                           ).fetchone() == ("car_1", "16:14")


def test_options_reach_the_records(tmp_path):
    opts = ImportOptions(vehicle_id="car_2", vehicle_class="highway_truck", version="v3.3.0", road_type="elevated")
    result = import_comma2k19(SRC, tmp_path / "l", opts)
    reg = pd.read_json(next((tmp_path / "l" / "vehicle_registry").rglob("*.jsonl")), lines=True)
    hb = pd.read_json(next((tmp_path / "l" / "heartbeat").rglob("*.jsonl")), lines=True)
    assert result.vehicle_id == "car_2" and reg.vehicle_class.tolist() == ["highway_truck"]
    assert set(hb.road_type) == {"elevated"}
