"""The reference detector end to end on a hand-written ODS DuckDB: event shape, class thresholds from the
registry, day scoping with runs that cross midnight, discrete triggers, cases and their ids."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from fleetloop.contract import SOURCES
from fleetloop.triggers.cases import build_cases, perception_suspect
from fleetloop.triggers.reference import EVENT_COLUMNS, detect_events
from fleetloop.warehouse import connect

DAY = dt.date(2026, 1, 2)
MIDNIGHT = pd.Timestamp("2026-01-02", tz="UTC")


def create_ods(con):
    con.execute("create schema ods")
    for s in SOURCES.values():
        cols = ", ".join(f'"{f.name}" {f.type}' for f in s.fields)
        con.execute(f"create table ods.{s.ods_table} ({cols}, dt date, _source_file varchar, "
                    f"_line_number bigint, _loaded_at timestamptz)")


def insert(con, source, rows: pd.DataFrame):
    ts_col = SOURCES[source].partition_ts
    rows = rows.assign(dt=rows[ts_col].dt.date, _source_file="test", _line_number=np.arange(len(rows)) + 1,
                       _loaded_at=pd.Timestamp.now(tz="UTC"))
    con.register("_rows", rows)
    con.execute(f"insert into ods.ods_{source} by name select * from _rows")
    con.unregister("_rows")


def pose_rows(vehicle_id, start, acc, speed=10.0, status="driving", x0=0.0):
    n = len(acc)
    t = start + pd.to_timedelta(np.arange(n) * 100, unit="ms")
    return pd.DataFrame({
        "ts": t, "vehicle_id": vehicle_id, "x_m": x0 + np.arange(n) * 1.0, "y_m": 0.0,
        "speed_mps": speed, "acc_lon_mps2": np.asarray(acc, float), "acc_lat_mps2": 0.0, "heading_rad": 0.0,
        "yaw_rate_rps": 0.0, "drive_mode": "auto", "steering_deg": 0.0, "throttle_pct": 0.0, "brake_pct": 0.0,
        "is_emergency_brake": False, "task_id": "t1", "route_id": "r1", "task_status": status,
    })


@pytest.fixture(scope="module")
def ods(tmp_path_factory):
    con = connect(tmp_path_factory.mktemp("ods") / "warehouse.duckdb")
    create_ods(con)
    insert(con, "vehicle_registry", pd.DataFrame({
        "ts": [MIDNIGHT - pd.Timedelta(hours=1)] * 2, "vehicle_id": ["V1", "V2"],
        "vehicle_class": ["urban_delivery", "campus_robot"], "city": "c1", "site_id": ["S1", "S2"]}))
    brake = [0.0] * 5 + [-4.5] * 3 + [0.0] * 5
    insert(con, "pose", pd.concat([
        pose_rows("V1", MIDNIGHT - pd.Timedelta(milliseconds=600), brake),  # run starts 23:59:59.9 on day-1
        pose_rows("V1", MIDNIGHT + pd.Timedelta(hours=10), brake, x0=500),
        pose_rows("V1", MIDNIGHT + pd.Timedelta(days=1, milliseconds=-600), brake, x0=900),  # day 23:59:59.9
        pose_rows("V2", MIDNIGHT + pd.Timedelta(hours=11), [0.0] * 5 + [-3.0] * 3 + [0.0] * 5, speed=1.0),
    ]))
    hb_t = MIDNIGHT + pd.Timedelta(hours=12) + pd.to_timedelta([0, 1, 2, 40, 41], unit="s")
    insert(con, "heartbeat", pd.DataFrame({
        "ts": hb_t, "vehicle_id": "V1", "drive_mode": "auto", "speed_mps": 5.0, "road_type": "trunk",
        "task_id": "t1", "task_status": "driving", "city": "c1", "site_id": "S1", "route_id": "r1",
        "lat": 31.0, "lon": 121.0}))
    insert(con, "error_code", pd.DataFrame({
        "ts": MIDNIGHT + pd.Timedelta(hours=10) + pd.to_timedelta([0, 5, 10, 15, 20], unit="s"),
        "vehicle_id": "V1", "code": "PER-101", "module": "perception", "severity": "warning"}))
    insert(con, "takeover", pd.DataFrame({
        "takeover_id": ["tk1"], "vehicle_id": "V2", "ts_start": [MIDNIGHT + pd.Timedelta(hours=11, seconds=1)],
        "ts_end": [MIDNIGHT + pd.Timedelta(hours=11, seconds=30)], "operator_id": "op1", "channel": "desktop",
        "initiator": "operator"}))
    insert(con, "vehicle_call", pd.DataFrame({
        "ts": [MIDNIGHT + pd.Timedelta(hours=13)] * 2, "vehicle_id": ["V1", "V2"],
        "call_type": ["call_driver", "call_guard"], "reason": [None, "blocked"]}))
    insert(con, "asr_note", pd.DataFrame({
        "ts": [MIDNIGHT + pd.Timedelta(hours=11, seconds=2), MIDNIGHT + pd.Timedelta(hours=11, seconds=3)],
        "vehicle_id": "V2", "operator_id": "op1", "takeover_id": "tk1",
        "text": ["没东西也急刹", "route clear"]}))
    flat, sharp = [0.34, 0.33, 0.33], [0.9, 0.05, 0.05]
    insert(con, "planner_debug", pd.DataFrame({
        "ts": MIDNIGHT + pd.Timedelta(hours=14) + pd.to_timedelta(np.arange(8) * 100, unit="ms"),
        "vehicle_id": "V1", "candidate_scores": [sharp, flat, flat, flat, flat, sharp, flat, flat],
        "commanded_steering_deg": [0.0, 5.0, -5.0, 5.0, -5.0, 0.0, 0.0, 0.0]}))
    yield con
    con.close()


@pytest.fixture(scope="module")
def events(ods):
    return detect_events(ods, DAY)


def by_trigger(events, trigger):
    return events[events["trigger"] == trigger].reset_index(drop=True)


def test_event_shape(events):
    assert list(events.columns) == EVENT_COLUMNS
    assert events["event_id"].is_unique and events["event_id"].str.match(r"^evt_[0-9a-f]{16}$").all()
    assert (events["dt"] == DAY).all()
    assert str(events["ts_start"].dt.tz) == "UTC"


def test_hard_brake_day_scoping_across_midnight(events):
    hb = by_trigger(events, "hard_brake")
    v1 = hb[hb["vehicle_id"] == "V1"]
    # the run starting 23:59:59.9 the day before belongs to that day; the one at the day's end is kept whole
    assert v1["ts_start"].tolist() == [MIDNIGHT + pd.Timedelta(hours=10, milliseconds=500),
                                       MIDNIGHT + pd.Timedelta(days=1, milliseconds=-100)]
    assert v1["ts_end"].iloc[1] == MIDNIGHT + pd.Timedelta(days=1, milliseconds=100)
    assert (v1["site_id"] == "S1").all() and (v1["severity"] == 2).all()
    assert [json.loads(a)["tier"] for a in v1["attributes"]] == ["hard", "hard"]


def test_class_thresholds_come_from_the_registry(events):
    (row,) = by_trigger(events, "hard_brake").query("vehicle_id == 'V2'").itertuples()
    assert json.loads(row.attributes)["tier"] == "hard" and row.site_id == "S2"  # -3.0 at 1 m/s: campus robot


def test_offline_error_burst_and_natural_triggers(events):
    (off,) = by_trigger(events, "offline").itertuples()
    assert (off.ts_end - off.ts_start) == pd.Timedelta(seconds=38)
    (burst,) = by_trigger(events, "error_burst").itertuples()
    assert json.loads(burst.attributes)["n_codes"] == 5
    assert by_trigger(events, "takeover")["vehicle_id"].tolist() == ["V2"]
    assert by_trigger(events, "call_driver")["vehicle_id"].tolist() == ["V1"]
    assert by_trigger(events, "call_guard")["vehicle_id"].tolist() == ["V2"]
    (asr,) = by_trigger(events, "asr_keyword").itertuples()
    assert json.loads(asr.attributes)["tags"] == ["hard_brake", "phantom_brake"]


def test_planner_triggers(events):
    (unc,) = by_trigger(events, "uncertainty").itertuples()
    assert (unc.ts_start, unc.ts_end) == (MIDNIGHT + pd.Timedelta(hours=14, milliseconds=100),
                                          MIDNIGHT + pd.Timedelta(hours=14, milliseconds=400))
    (jit,) = by_trigger(events, "output_jitter").itertuples()
    assert json.loads(jit.attributes)["sign_changes"] == 3


def test_no_site_anomaly_with_one_vehicle(events):
    assert by_trigger(events, "site_anomaly").empty


def test_whole_table_without_a_day_keeps_every_day(ods):
    everything = detect_events(ods)
    assert sorted(set(everything["dt"])) == [DAY - dt.timedelta(days=1), DAY]


def test_cases_merge_per_vehicle_and_ids_match_sql_md5(ods, events):
    cases = build_cases(events)
    v2 = cases[cases["vehicle_id"] == "V2"]
    assert len(v2) == 2  # the call at 13:00 is a case of its own
    case = next(v2.itertuples())  # hard brake, takeover and ASR note of V2 overlap into one case
    assert case.triggers == ["asr_keyword", "hard_brake", "takeover"]
    assert case.ts_start == MIDNIGHT + pd.Timedelta(hours=11, milliseconds=500) - pd.Timedelta(seconds=10)
    assert case.ts_end == MIDNIGHT + pd.Timedelta(hours=11, seconds=30 + 5)
    ((expected,),) = ods.execute("select 'case_' || md5(? || '|' || epoch_ms(?::timestamptz))[1:16]",
                                 ["V2", case.ts_start.isoformat()]).fetchall()
    assert case.case_id == expected
    assert not (cases["triggers"].apply(lambda t: "site_anomaly" in t)).any()
    assert cases["case_id"].is_unique


def test_perception_suspect_by_error_code_needs_a_hard_brake(ods, events):
    cases = build_cases(events)
    flags = dict(zip(cases["case_id"], perception_suspect(ods, cases), strict=True))
    v1_morning = cases[(cases["vehicle_id"] == "V1") & (cases["triggers"].apply(lambda t: "error_burst" in t))]
    assert v1_morning["triggers"].iloc[0] == ["error_burst", "hard_brake"] and flags[v1_morning["case_id"].iloc[0]]
    assert not flags[cases[cases["vehicle_id"] == "V2"]["case_id"].iloc[0]]  # hard brake, no perception evidence
    without_brake = events[~((events["vehicle_id"] == "V1") & (events["trigger"] == "hard_brake"))]
    cases = build_cases(without_brake)
    burst = cases[cases["triggers"].apply(lambda t: "error_burst" in t)]
    assert not perception_suspect(ods, burst).any()  # perception codes alone do not route to raw upload


def objects(vehicle_id, start, n, x_m, confidence, object_id):
    t = start + pd.to_timedelta(np.arange(n) * 100, unit="ms")
    return pd.DataFrame({"ts": t, "vehicle_id": vehicle_id, "object_id": object_id, "class": "unknown",
                         "x_m": x_m, "y_m": 1.0, "heading_rad": 0.0, "vx_mps": 0.0, "vy_mps": 0.0,
                         "length_m": 1.0, "width_m": 1.0, "confidence": confidence})


@pytest.mark.parametrize(("ahead_m", "life_samples", "confidence", "suspect"), [
    (20.0, 50, 0.9, False),  # a real, long-lived obstacle
    (20.0, 5, 0.9, True),  # lives 0.4 s: phantom
    (20.0, 50, 0.4, True),  # low confidence: phantom
    (-20.0, 5, 0.4, False),  # behind the ego
    (40.0, 5, 0.4, False),  # beyond 30 m
])
def test_perception_suspect_by_phantom_object(tmp_path, ahead_m, life_samples, confidence, suspect):
    con = connect(tmp_path / "warehouse.duckdb")
    create_ods(con)
    start = MIDNIGHT + pd.Timedelta(hours=9)
    insert(con, "vehicle_registry", pd.DataFrame({"ts": [MIDNIGHT], "vehicle_id": ["V3"],
                                                  "vehicle_class": ["urban_delivery"], "city": "c", "site_id": "S"}))
    insert(con, "pose", pose_rows("V3", start, [0.0] * 10 + [-4.5] * 3 + [0.0] * 87))  # x = sample index, heading 0
    insert(con, "perception_objects", objects("V3", start + pd.Timedelta(seconds=1), life_samples,
                                              10.0 + np.arange(life_samples) * 1.0 + ahead_m, confidence, "o1"))
    cases = build_cases(detect_events(con, DAY))
    assert cases["triggers"].tolist() == [["hard_brake"]]
    assert perception_suspect(con, cases).tolist() == [suspect]
