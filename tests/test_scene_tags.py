"""The per-second feature table of the warehouse (dwd_second_feature): its columns are those declared in
fleetloop.mining.features, and its scene facts match the simulator's truth (_truth/scene_seconds.parquet) with
precision and recall >= 0.95 per family."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import jinja2
import pytest

from fleetloop.mining.features import FEATURE_COLUMNS

MIN_SCORE = 0.95
LANE_CELLS = Path(__file__).resolve().parents[1] / "macros" / "lane_cells.sql"  # the lane raster's one definition
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


def _lane_cell_m() -> float:
    """The lane raster's cell size, rendered from its dbt macro."""
    return float(str(jinja2.Environment().from_string(LANE_CELLS.read_text(encoding="utf-8")).module.lane_cell_m()))


def _lanes_within_reach(x_m: float, y_m: float, segments: list[tuple]) -> int | None:
    """The plain loop: distinct lanes with a segment within its reach whose projection falls inside it, among
    the segments of the position's lane cell (None when the cell holds none)."""
    if not segments:
        return None
    lanes = set()
    for lane_id, from_x_m, from_y_m, next_x_m, next_y_m, length_m, reach_m in segments:
        dx, dy = next_x_m - from_x_m, next_y_m - from_y_m
        raw_t = ((x_m - from_x_m) * dx + (y_m - from_y_m) * dy) / length_m ** 2 if length_m else None
        if raw_t is None or not 0 <= raw_t < 1:
            continue
        if math.hypot(x_m - (from_x_m + raw_t * dx), y_m - (from_y_m + raw_t * dy)) <= reach_m:
            lanes.add(lane_id)
    return len(lanes)


def test_lane_count_is_the_distinct_lanes_within_reach(con):
    """lane_count against a plain loop over the lane segments, at the second's first pose sample."""
    cell_m = _lane_cell_m()
    segments: dict[tuple, list[tuple]] = {}
    for site, route, cx, cy, *geometry in con.execute(
            "select site_id, route_id, cell_x, cell_y, lane_id, x_m, y_m, next_x_m, next_y_m, length_m, reach_m "
            "from dwd.dwd_lane_segment").fetchall():
        segments.setdefault((site, route, cx, cy), []).append(tuple(geometry))
    rows = con.execute("""
        select s.site_id, s.route_id, s.lane_count, arg_min(p.x_m, p.ts), arg_min(p.y_m, p.ts)
        from dwd.dwd_second_feature as s
        join ods.ods_pose as p on p.vehicle_id = s.vehicle_id and epoch_us(p.ts) // 1000000 = s.ts_s
        group by s.vehicle_id, s.ts_s, s.site_id, s.route_id, s.lane_count""").fetchall()
    assert len(rows) > 500 and sum(1 for r in rows if r[2] and r[2] > 1) > 100
    for site, route, lane_count, x_m, y_m in rows:
        cell = (site, route, math.floor(x_m / cell_m), math.floor(y_m / cell_m))
        assert lane_count == _lanes_within_reach(x_m, y_m, segments.get(cell, [])), (site, route, x_m, y_m)
