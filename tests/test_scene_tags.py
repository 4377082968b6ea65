"""The per-second feature table of the warehouse (dwd_second_feature): its columns are those declared in
fleetloop.mining.features, and its scene facts match the simulator's truth (_truth/scene_seconds.parquet) with
precision and recall >= 0.95 per family."""

from __future__ import annotations

import duckdb
import pytest

from fleetloop.mining.features import FEATURE_COLUMNS

MIN_SCORE = 0.95
# family -> (feature-table condition, the same fact in the truth)
TRUTH_CHECKS = {
    "time_light": ("f.light = 'night'", "t.light = 'night'"),
    "weather": ("f.weather = 'rain'", "t.weather = 'rain'"),
    "road_map_junction": ("f.in_junction", "t.in_junction"),
    "road_map_signalised": ("f.in_junction and f.junction_signalised", "t.in_junction and t.junction_signalised"),
    "road_map_crosswalk": ("f.on_crosswalk", "t.on_crosswalk"),
    "road_map_merge": ("f.in_merge", "t.in_merge"),
    "ego_turn_left": ("f.turn = 'left'", "t.turn = 'left'"),
}


@pytest.fixture(scope="module")
def con(dbt_warehouse, sim_fleet):
    c = duckdb.connect(str(dbt_warehouse), read_only=True)
    c.execute(f"create temp view truth as select * from read_parquet('{sim_fleet.truth_dir}/scene_seconds.parquet') "
              "where uploaded")
    yield c
    c.close()


def test_feature_table_has_the_declared_columns_and_types(con):
    described = con.execute("describe dwd.dwd_second_feature").fetchall()
    got = {(name, kind) for name, kind, *_ in described if name != "dt"}
    assert got == {(c.name, c.type) for c in FEATURE_COLUMNS}


def test_one_feature_row_per_uploaded_truth_second(con):
    rows, truth = con.execute("select (select count(*) from dwd.dwd_second_feature), (select count(*) from truth)"
                              ).fetchone()
    assert rows == truth


@pytest.mark.parametrize("family", sorted(TRUTH_CHECKS))
def test_scene_facts_match_truth(con, family):
    ours, theirs = TRUTH_CHECKS[family]
    both, only_ours, only_truth = con.execute(f"""
        select count(*) filter (where a and b), count(*) filter (where a and not b), count(*) filter (where b and not a)
        from (select coalesce({ours}, false) as a, coalesce({theirs}, false) as b
              from dwd.dwd_second_feature as f
              join truth as t on f.vehicle_id = t.vehicle_id and f.ts_s = epoch(t.ts)::bigint)""").fetchone()
    assert both > 0, family
    assert both / (both + only_ours) >= MIN_SCORE, family
    assert both / (both + only_truth) >= MIN_SCORE, family
