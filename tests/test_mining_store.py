"""The bitmap tag store built from a feature table: hand-computed tag sets, every bit where its rule holds,
and a tag added as a seed row appears after a rebuild."""

import datetime as dt
import random

import pandas as pd
import pytest

from fleetloop.definitions import read_seed
from fleetloop.mining.engine import mine
from fleetloop.mining.features import FEATURE_COLUMNS, create_feature_table_sql
from fleetloop.mining.store import build_tag_store, read_tag_map
from fleetloop.mining.tags import load_tags, tags_from_rows, word_column, word_count
from fleetloop.warehouse import connect

WEDNESDAY_S = int(dt.datetime(2026, 9, 2, 12, tzinfo=dt.UTC).timestamp())
SATURDAY_S = int(dt.datetime(2026, 9, 5, 12, tzinfo=dt.UTC).timestamp())
# a plain second: 54 km/h straight on a two-lane trunk road, clear day, autonomous, nothing around
NEUTRAL = {c.name: (False if c.type == "BOOLEAN" else 0 if c.type == "INTEGER" else None) for c in FEATURE_COLUMNS} | {
    "vehicle_id": "v1", "ts_s": WEDNESDAY_S, "site_id": "s1", "route_id": "r1", "version": "v3.2.0",
    "vehicle_class": "urban_delivery", "speed_mps": 15.0, "acc_lon_mps2": 0.0, "yaw_rate_rps": 0.0,
    "drive_mode": "auto", "road_type": "trunk", "lane_count": 2, "turn": "straight", "lane_change": "none",
    "weather": "clear", "light": "day", "min_track_confidence": 0.9}
NEUTRAL_TAGS = {"day", "clear", "road_trunk", "two_lanes", "high_speed", "speed_50_60kmh", "going_straight",
                "mode_auto"}


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "store.duckdb")
    c.execute(create_feature_table_sql("features"))
    yield c
    c.close()


def _insert(con, rows):
    frame = pd.DataFrame(rows, columns=[c.name for c in FEATURE_COLUMNS])  # noqa: F841 (read by DuckDB)
    con.execute("insert into features by name select * from frame")


def _decoded(con, tags):
    """(vehicle_id, ts_s) -> tag names whose bit is set, decoded in Python."""
    words = [word_column(w) for w in range(word_count(tags))]
    out = {}
    rows = con.execute(f"select vehicle_id, ts_s, {', '.join(words)} from dwd_second_tag").fetchall()
    for vehicle, ts, *values in rows:
        out[vehicle, ts] = {t.name for t in tags if values[t.word] >> t.bit & 1}
    return out


def test_hand_computed_tag_sets(con):
    rainy_junction = NEUTRAL | {
        "ts_s": WEDNESDAY_S + 1, "speed_mps": 12.0, "acc_lon_mps2": -4.5, "weather": "rain", "light": "night",
        "in_junction": True, "junction_signalised": True, "n_pedestrian_10m": 1, "n_pedestrian_30m": 1,
        "n_pedestrian_50m": 1, "vru_distance_m": 8.0, "vru_bearing_deg": 10.0, "trig_hard_brake": True}
    remote_stop = NEUTRAL | {
        "ts_s": SATURDAY_S, "speed_mps": 0.0, "acc_lon_mps2": -1.0, "lead_class": "tricycle", "lead_gap_m": 5.0,
        "drive_mode": "remote", "remote_active": True}
    _insert(con, [NEUTRAL, rainy_junction, remote_stop])
    tags = load_tags()
    build_tag_store(con, tags, "features")
    got = _decoded(con, tags)
    assert got["v1", WEDNESDAY_S] == NEUTRAL_TAGS
    assert got["v1", WEDNESDAY_S + 1] == {
        "night", "low_light", "rain", "adverse_weather", "road_trunk", "junction", "signalised_junction", "two_lanes",
        "high_speed", "speed_40_50kmh", "decelerating", "going_straight", "pedestrian_near", "pedestrian_present",
        "vru_near", "vru_ahead", "mode_auto", "trigger_hard_brake"}
    assert got["v1", SATURDAY_S] == {
        "day", "clear", "weekend", "road_trunk", "two_lanes", "stopped", "speed_0_10kmh", "decelerating",
        "going_straight", "tricycle_ahead", "lead_close", "stopping_with_lead", "mode_remote", "not_auto", "remote"}


def _random_row(rng, i):
    row = dict(NEUTRAL)
    for c in FEATURE_COLUMNS[6:]:
        if c.allowed:
            row[c.name] = rng.choice(c.allowed + ((None,) if c.nullable else ()))
        elif c.type == "BOOLEAN":
            row[c.name] = rng.random() < 0.3
        elif c.type == "INTEGER":
            row[c.name] = rng.choice((0, 0, 1, 2, 3, 7))
        else:
            row[c.name] = None if c.nullable and rng.random() < 0.2 else rng.uniform(-40, 40)
    return row | {"ts_s": WEDNESDAY_S + i, "speed_mps": rng.uniform(0, 40)}


def test_every_bit_is_set_exactly_where_its_rule_holds(con):
    rng = random.Random(11)
    _insert(con, [_random_row(rng, i) for i in range(400)])
    tags = load_tags()
    build_tag_store(con, tags, "features")
    got = _decoded(con, tags)
    assert word_count(tags) >= 2 and len(got) == 400
    for t in tags:
        expected = set(con.execute(f"select vehicle_id, ts_s from features where {t.rule}").fetchall())
        assert {k for k, names in got.items() if t.name in names} == expected, t.name
    assert sum(bool(names) for names in got.values()) == 400


def test_a_tag_added_as_a_seed_row_appears_after_a_rebuild(con):
    _insert(con, [NEUTRAL, NEUTRAL | {"ts_s": WEDNESDAY_S + 1, "speed_mps": 25.0}])
    rows = list(read_seed("tag_definitions")) + [
        {"tag": "above_80kmh", "family": "ego", "rule": "speed_mps * 3.6 > 80", "description": "fast"}]
    tags = tags_from_rows(rows)
    build_tag_store(con, tags, "features")
    assert read_tag_map(con)["above_80kmh"] == (tags[-1].word, tags[-1].bit)
    clips = mine(con, "above_80kmh and day").fetchall()
    assert [(c[0], c[4]) for c in clips] == [("v1", 1)]
