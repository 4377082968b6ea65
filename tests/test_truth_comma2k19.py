"""The reference triggers on the real comma2k19 drive (60 s of I-280, MIT licence, see the data's
LICENSE_NOTICE.txt): the facts of the raw CSV say no trigger fires for the car's class, and the reference
finds none; with the truck's lower tiers the one 0.3 s deceleration becomes a mild hard brake."""


import numpy as np
import pandas as pd
import pytest

from fleetloop.contract import SOURCES
from fleetloop.definitions import trigger_params
from fleetloop.ingest import connect
from fleetloop.realdata.comma2k19 import import_comma2k19
from fleetloop.triggers import pose
from fleetloop.triggers.reference import detect_events
from tests.fixtures.ods import load
from tests.fixtures.realdata import COMMA2K19_DIR

SRC = COMMA2K19_DIR


@pytest.fixture(scope="module")
def csv() -> pd.DataFrame:
    return pd.read_csv(SRC / "telemetry_10hz.csv")


@pytest.fixture(scope="module")
def ods(tmp_path_factory):
    root = tmp_path_factory.mktemp("comma2k19_truth")
    result = import_comma2k19(SRC, root / "landing")
    con = connect(root / "fleetloop.duckdb")
    for source in SOURCES:
        load(con, root / "landing", source, result.day)
    yield con, result
    con.close()


def test_raw_drive_stays_clear_of_every_pose_trigger(csv):
    hb, wv, st = trigger_params("hard_brake", "urban_delivery"), trigger_params("weaving"), trigger_params("stuck")
    below_mild = (csv["lon_acc_can_mps2"] <= hb["tier_mild_mps2"]).astype(int)
    longest = below_mild.groupby((below_mild != below_mild.shift()).cumsum()).sum().max()
    assert longest == 1  # one 0.1 s sample at -3.32 m/s2: a hard brake needs 0.3 s
    assert csv["yaw_rate_rps"].abs().max() < wv["min_swing_rps"]
    assert csv["speed_mps"].min() > st["max_speed_mps"]


def test_reference_finds_no_event_on_the_real_drive(ods):
    con, result = ods
    events = detect_events(con, result.day)
    assert events.empty, events


def test_truck_tiers_turn_the_final_deceleration_into_a_mild_brake(ods, csv):
    con, _ = ods
    d = con.execute("select epoch_us(ts) as ts_us, speed_mps, acc_lon_mps2 from ods.ods_pose order by ts").df()
    (found,) = pose.hard_brake(d["ts_us"].to_numpy(), d["speed_mps"].to_numpy(), d["acc_lon_mps2"].to_numpy(),
                               trigger_params("hard_brake", "highway_truck"))
    rows = np.flatnonzero(csv["lon_acc_can_mps2"].to_numpy() <= -2.5)
    first = rows[np.flatnonzero(np.diff(rows) == 1)[0]]  # the only run of consecutive samples
    assert found.tier == "mild" and found.attributes["duration_s"] == 0.3
    assert found.attributes["min_acc_mps2"] == pytest.approx(csv["lon_acc_can_mps2"].iloc[first:first + 3].min())
    assert found.attributes["speed_mps"] == pytest.approx(csv["speed_mps"].iloc[first])
