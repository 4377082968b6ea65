"""The warehouse's tag store, built from the dbt feature table of the simulated test fleet: every tag's seconds in
the exposure table equal its bits, tags agree with the simulator's truth, a mined query returns the truth's clips,
and a tag added as one seed row is minable after a rebuild."""

from __future__ import annotations

import shutil

import pytest

from fleetloop.definitions import SEEDS_DIR, read_seed
from fleetloop.mining.clips import Padding
from fleetloop.mining.engine import mine
from fleetloop.mining.tags import load_tags
from fleetloop.mining.warehouse import EXPOSURE_TABLE, WAREHOUSE_STORE, build_warehouse_store
from fleetloop.warehouse import connect
from tests.fixtures.warehouse import copy_warehouse

MIN_SCORE = 0.95
MIN_IOU = 0.9
NO_PADDING = Padding(before_s=0, after_s=0)
# tag -> the same fact in the truth (``_truth/scene_seconds.parquet``: the real road users seen from the true pose,
# the ego's true speed and drive mode, what its perception reported), at least one per family of the seed
TRUTH_OF_TAG = {
    "night": "t.light = 'night'",
    "rain": "t.weather = 'rain'",
    "junction": "t.in_junction",
    "crosswalk": "t.on_crosswalk",
    "merge": "t.in_merge",
    "stopped": "t.speed_mps < 0.3",
    "turning_left": "t.turn = 'left'",
    "pedestrian_near": "t.n_pedestrian_10m > 0",
    "car_ahead": "t.lead_class = 'car'",
    "vru_near": "t.vru_distance_m < 10",
    "dense_mixed_traffic": "t.dense_mixed_traffic",
    "low_confidence": "t.perceived_min_track_confidence < 0.5",
    "flickering_track": "t.perceived_flickering_tracks > 0",
    "mode_auto": "t.drive_mode = 'auto'",
    "takeover": "t.drive_mode in ('remote', 'manual')",
}
# trigger tag -> the truth's events of that trigger (``_truth/events.parquet``); checked per event, since a trigger
# fires at a moment of its event, not over all of it
TRUTH_EVENTS_OF_TAG = {
    "trigger_hard_brake": "hard_brake",
    "trigger_weaving": "weaving",
    "trigger_uncertainty": "uncertainty",
}
EVENT_SLACK_S = 1  # a tagged second this close to a truth event belongs to it (whole seconds vs event times)


@pytest.fixture(scope="module")
def store(dbt_warehouse, sim_fleet, tmp_path_factory):
    path = copy_warehouse(dbt_warehouse, tmp_path_factory.mktemp("scene_store"))
    con = connect(path)
    counts = build_warehouse_store(con)
    con.execute("create temp table truth as select *, epoch(ts)::bigint as ts_s from read_parquet(?) where uploaded",
                [str(sim_fleet.truth_dir / "scene_seconds.parquet")])
    con.execute("create temp table truth_events as select trigger, vehicle_id, epoch(ts_start)::bigint as start_s, "
                "epoch(ts_end)::bigint as end_s from read_parquet(?)", [str(sim_fleet.truth_dir / "events.parquet")])
    yield con, counts, path
    con.close()


def _bit(tag: str) -> str:
    return (f"((s.w{{word}} & (select mask from {WAREHOUSE_STORE.map_table} where tag = '{tag}')) <> 0)"
            .format(word=next(t.word for t in load_tags() if t.name == tag)))


def test_the_store_holds_every_seed_tag_and_second(store):
    con, counts, _ = store
    assert counts[WAREHOUSE_STORE.map_table] == len(read_seed("tag_definitions"))
    features = con.execute("select count(*) from dwd.dwd_second_feature").fetchone()[0]
    assert counts[WAREHOUSE_STORE.table] == features > 0


def test_exposure_seconds_equal_the_bits(store):
    con, _, _ = store
    for tag in ("night", "rain", "junction", "pedestrian_near"):
        bits = con.execute(f"select count(*) from {WAREHOUSE_STORE.table} as s where {_bit(tag)}").fetchone()[0]
        exposed = con.execute(f"select coalesce(sum(seconds), 0) from {EXPOSURE_TABLE} where tag = ?",
                              [tag]).fetchone()[0]
        assert exposed == bits, tag


@pytest.mark.parametrize("tag", sorted(TRUTH_OF_TAG))
def test_tags_match_the_truth(store, tag):
    con, _, _ = store
    both, only_ours, only_truth = con.execute(f"""
        select count(*) filter (where a and b), count(*) filter (where a and not b), count(*) filter (where b and not a)
        from (select {_bit(tag)} as a, coalesce({TRUTH_OF_TAG[tag]}, false) as b
              from {WAREHOUSE_STORE.table} as s join truth as t on s.vehicle_id = t.vehicle_id and s.ts_s = t.ts_s)
    """).fetchone()
    assert both > 0
    assert both / (both + only_ours) >= MIN_SCORE and both / (both + only_truth) >= MIN_SCORE, (
        both, only_ours, only_truth)


def test_every_tag_family_is_checked_against_the_truth():
    families = {t.name: t.family for t in load_tags()}
    checked = {families[tag] for tag in (*TRUTH_OF_TAG, *TRUTH_EVENTS_OF_TAG)}
    assert checked == set(families.values())


@pytest.mark.parametrize("tag", sorted(TRUTH_EVENTS_OF_TAG))
def test_trigger_tags_match_the_truths_events(store, tag):
    """Precision: tagged runs of seconds that overlap a truth event of the trigger; recall: truth events (of the
    vehicle-seconds the store holds) with a tagged second."""
    con, _, _ = store
    con.execute(f"""
        create or replace temp table tagged as
        select vehicle_id, min(ts_s) as start_s, max(ts_s) as end_s from (
            select vehicle_id, ts_s, ts_s - row_number() over (partition by vehicle_id order by ts_s) as island
            from {WAREHOUSE_STORE.table} as s where {_bit(tag)})
        group by vehicle_id, island""")
    con.execute("create or replace temp table events as select e.* from truth_events as e where trigger = ? and "
                f"exists (select 1 from {WAREHOUSE_STORE.table} as s where s.vehicle_id = e.vehicle_id "
                "and s.ts_s between e.start_s and e.end_s)", [TRUTH_EVENTS_OF_TAG[tag]])
    overlap = (f"e.vehicle_id = r.vehicle_id and r.start_s <= e.end_s + {EVENT_SLACK_S} "
               f"and r.end_s >= e.start_s - {EVENT_SLACK_S}")
    runs, true_runs = con.execute(
        f"select count(*), count(*) filter (where exists (select 1 from truth_events as e where e.trigger = ? "
        f"and {overlap})) from tagged as r", [TRUTH_EVENTS_OF_TAG[tag]]).fetchone()
    events, found = con.execute(
        f"select count(*), count(*) filter (where exists (select 1 from tagged as r where {overlap})) "
        "from events as e").fetchone()
    assert runs > 0 and events > 0
    assert true_runs / runs >= MIN_SCORE and found / events >= MIN_SCORE, (true_runs, runs, found, events)


def test_a_mined_query_returns_the_truths_clips(store):
    """``rain and junction``, no padding: clips equal the truth's maximal runs of rain-in-junction seconds (mean
    temporal IoU of best matches >= 0.9 both ways)."""
    con, _, _ = store
    clips = _clips(con, "rain and junction")
    truth = con.execute("""
        select vehicle_id, min(ts_s), max(ts_s) from (
            select vehicle_id, ts_s, ts_s - row_number() over (partition by vehicle_id order by ts_s) as island
            from truth where weather = 'rain' and in_junction)
        group by vehicle_id, island""").fetchall()
    assert truth and clips
    ours = clips

    def best_iou(a, pool):
        ious = [(min(a[2], b[2]) - max(a[1], b[1]) + 1) / (max(a[2], b[2]) - min(a[1], b[1]) + 1)
                for b in pool if b[0] == a[0] and min(a[2], b[2]) >= max(a[1], b[1])]
        return max(ious, default=0.0)

    assert sum(best_iou(c, truth) for c in ours) / len(ours) >= MIN_IOU
    assert sum(best_iou(t, ours) for t in truth) / len(truth) >= MIN_IOU


def _clips(con, text: str) -> list[tuple[str, int, int]]:
    """(vehicle, first second, last second) of each clip, without padding."""
    relation = mine(con, text, store=WAREHOUSE_STORE, padding=NO_PADDING)
    return [(v, int(a), int(b)) for v, a, b in relation.select(
        "vehicle_id, epoch(clip_start)::bigint, epoch(clip_end)::bigint").fetchall()]


def test_a_tag_added_as_a_seed_row_is_minable_after_a_rebuild(store, tmp_path):
    con, _, _ = store
    seed = SEEDS_DIR / "tag_definitions.csv"
    saved = tmp_path / "tag_definitions.csv"
    shutil.copyfile(seed, saved)
    try:
        with seed.open("a", encoding="utf-8") as f:
            f.write("rainy_junction_test,weather,weather = 'rain' and in_junction,rain inside a junction (test)\n")
        read_seed.cache_clear()
        build_warehouse_store(con)
        assert _clips(con, "rainy_junction_test") == _clips(con, "rain and junction") != []
        assert con.execute(f"select count(*) from {EXPOSURE_TABLE} where tag = 'rainy_junction_test'").fetchone()[0]
    finally:
        shutil.copyfile(saved, seed)
        read_seed.cache_clear()
        build_warehouse_store(con)
