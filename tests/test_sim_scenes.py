"""The world to tag: the 1 Hz perception summary and environment of the simulated fleet against the logged
perception objects, the body-sensor thresholds, the lane map's junctions and the injected scenes' truth."""

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

from fleetloop.contract import COUNT_RADII_M, COUNTED_CLASSES
from fleetloop.lanemap import load_lane_map
from fleetloop.sim import environment, scenes
from fleetloop.sim.world import build_world
from tests.fixtures.sim import clean_json_rows, clean_parquet

COUNTS = [f"n_{c}_{r}m" for c in COUNTED_CLASSES for r in COUNT_RADII_M]


@pytest.fixture(scope="module")
def con(sim_fleet, sim_clean):
    """DuckDB over the truth, the summary, the environment, the clean pose and the perception objects."""
    c = duckdb.connect()
    c.execute("set TimeZone = 'UTC'")
    truth = sim_fleet.truth_dir
    c.execute(f"create view truth as select * from read_parquet('{truth}/scene_seconds.parquet')")
    c.execute(f"create view scenes as select * from read_parquet('{truth}/scenes.parquet')")
    for source in ("perception_summary", "environment"):
        frame = clean_json_rows(sim_fleet, source).assign(ts=lambda f: pd.to_datetime(f["ts"], utc=True))
        c.register(f"{source}_df", frame)
        c.execute(f"create table {source} as select * from {source}_df")
    pose = sim_clean["pose"][["ts", "vehicle_id", "x_m", "y_m"]]
    c.register("pose_df", pose)
    c.execute("create table pose as select * from pose_df")
    objects = clean_parquet(sim_fleet, "perception_objects").to_pandas()
    c.register("objects_df", objects)
    c.execute("create table objects as select * from objects_df")
    return c


def test_every_driven_second_has_one_summary_row(con, sim_clean):
    summary = con.execute("select vehicle_id, ts from perception_summary").df()
    assert not summary.duplicated().any()
    uploaded = con.execute("select vehicle_id, ts from truth where uploaded").df()
    assert set(map(tuple, summary.to_numpy())) == set(map(tuple, uploaded.to_numpy()))
    hb = sim_clean["heartbeat"]
    driving = hb[hb["task_status"] == "driving"]
    driving_keys = set(zip(driving["vehicle_id"], pd.to_datetime(driving["ts"], utc=True), strict=True))
    assert len(driving_keys) > 100_000
    assert driving_keys <= set(zip(summary["vehicle_id"], summary["ts"], strict=True))


def test_summary_counts_agree_with_the_perception_objects_in_case_windows(con):
    """Counts per class and radius recomputed from perception_objects and pose at every whole second where
    objects were logged; the lowest confidence of the second too."""
    radius_counts = ", ".join(f"count(*) filter (where o.class = '{c}' and d <= {r}) as n_{c}_{r}m"
                              for c in COUNTED_CLASSES for r in COUNT_RADII_M)
    recomputed = con.execute(f"""
        with at_second as (
            select o.vehicle_id, o.ts, o.class, sqrt((o.x_m - p.x_m) ^ 2 + (o.y_m - p.y_m) ^ 2) as d
            from objects o join pose p using (vehicle_id, ts)
            where epoch_ms(o.ts) % 1000 = 0)
        select vehicle_id, ts, {radius_counts} from at_second o group by all order by all""").df()
    summary = con.execute(f"select vehicle_id, ts, {', '.join(COUNTS)} from perception_summary").df()
    joined = recomputed.merge(summary, on=["vehicle_id", "ts"], suffixes=("", "_summary"))
    assert len(joined) > 5_000  # (case windows also reach into seconds that are not driven)
    for col in COUNTS:
        assert (joined[col] == joined[f"{col}_summary"]).all(), col
    assert joined[[c for c in COUNTS if c.startswith("n_car")]].to_numpy().sum() > 0
    conf = con.execute("""
        select s.min_track_confidence, o.conf
        from (select vehicle_id, time_bucket(interval 1 second, ts) as ts, min(confidence) as conf
              from objects group by all) o
        join perception_summary s using (vehicle_id, ts)""").df()
    assert len(conf) > 5_000
    assert np.allclose(conf["min_track_confidence"], conf["conf"].round(3), atol=1e-9)


def test_summary_lead_and_lights_are_the_truth(con):
    """Lead class, traffic light state and distance as uploaded equal the truth (perception is perfect outside
    phantoms); a real lead never overlaps the ego, and there is a headway only with a lead."""
    rows = con.execute("""
        select t.lead_class as t_class, s.lead_class as s_class, t.tl_state as t_tl, s.tl_state as s_tl,
               t.tl_distance_m as t_d, s.tl_distance_m as s_d, t.lead_gap_m, s.lead_time_headway_s
        from truth t join perception_summary s using (vehicle_id, ts)""").df()
    same_class = (rows["t_class"] == rows["s_class"]) | (rows["t_class"].isna() & rows["s_class"].isna())
    assert same_class.mean() > 0.995
    assert ((rows["t_tl"] == rows["s_tl"]) | (rows["t_tl"].isna() & rows["s_tl"].isna())).all()
    assert set(rows["s_tl"].dropna()) == {"red", "amber", "green"}
    assert np.allclose(rows["t_d"].dropna(), rows["s_d"].dropna(), atol=0.01)
    assert (rows["s_d"].dropna() <= scenes.TL_RANGE_M + 0.01).all()
    assert (rows["lead_gap_m"].dropna() > 0).all()
    assert (rows["lead_time_headway_s"].isna() | rows["s_class"].notna()).all()


def test_the_lead_track_is_a_logged_object_and_its_age_is_its_time_logged(con):
    """In case windows the uploaded lead is an object logged at that second, and its track age is the time since
    that object was first logged; a track id and an age come exactly with a lead."""
    rows = con.execute("""
        with first_seen as (select vehicle_id, object_id, min(ts) as first_ts from objects group by all)
        select s.lead_track_age_s, epoch(s.ts) - epoch(f.first_ts) as logged_s,
               (select count(*) from objects o where o.vehicle_id = s.vehicle_id and o.ts = s.ts
                and o.object_id = s.lead_track_id) as at_second
        from perception_summary s
        join first_seen f on f.vehicle_id = s.vehicle_id and f.object_id = s.lead_track_id""").df()
    assert len(rows) > 500
    assert (rows["at_second"] == 1).all()
    assert np.allclose(rows["lead_track_age_s"], rows["logged_s"], atol=0.051)
    lead = con.execute("""select lead_class is not null as has_lead, lead_track_id is not null as has_id,
                                 lead_track_age_s is not null as has_age, lead_track_age_s
                          from perception_summary""").df()
    assert (lead["has_lead"] == lead["has_id"]).all() and (lead["has_lead"] == lead["has_age"]).all()
    assert (lead["lead_track_age_s"].dropna() >= 0).all()


def test_the_truth_says_what_the_sensors_say(con):
    """Truth weather against the readings and the on-board thresholds; uploaded labels follow the thresholds."""
    env = con.execute("""select t.weather as truth, e.* exclude (weather), e.weather as label, t.light as t_light
                         from truth t join environment e using (vehicle_id, ts)""").df()
    wet = env["rain_sensor_pct"] >= environment.WET_MIN_PCT
    cold = env["outside_temp_c"] <= environment.SNOW_MAX_TEMP_C
    assert (wet[env["truth"] == "rain"]).all() and not cold[env["truth"] == "rain"].any()
    assert (wet & cold)[env["truth"] == "snow"].all()
    assert (~wet & (env["visibility_m"] < environment.FOG_MAX_VISIBILITY_M))[env["truth"] == "fog"].all()
    assert (~wet & (env["visibility_m"] >= environment.FOG_MAX_VISIBILITY_M))[env["truth"] == "clear"].all()
    assert (env["label"] == env["truth"]).all()
    assert (env["wiper_level"] > 0).eq(wet).all()
    lux = env["ambient_lux"]
    expected = np.where(lux >= environment.DAY_MIN_LUX, "day", np.where(lux < environment.NIGHT_MAX_LUX, "night",
                                                                         "dusk"))
    assert (env["light"] == expected).all()
    assert (env["light"] == env["t_light"]).mean() > 0.99
    # the evening shift gives night hours, and some of them are rainy
    combos = set(zip(env["truth"], env["t_light"], strict=True))
    assert {("rain", "night"), ("clear", "day"), ("clear", "dusk")} <= combos


def test_junction_seconds_lie_inside_the_junction_polygons(con):
    rows = con.execute("""select t.site_id, t.junction_id, t.in_junction, t.junction_signalised, t.turn,
                                 p.x_m, p.y_m
                          from truth t join pose p using (vehicle_id, ts)""").df()
    assert rows["in_junction"].sum() > 5_000
    for site, part in rows.groupby("site_id"):
        lane_map = load_lane_map(site)
        polygons = lane_map.junction_polygons()
        inside = part[part["in_junction"]]
        for junction, group in inside.groupby("junction_id"):
            area = shapely.buffer(polygons[junction], 0.2)
            assert shapely.contains_xy(area, group["x_m"], group["y_m"]).all(), junction
        features = lane_map.features_at(part["x_m"], part["y_m"])
        mapped = pd.Series(features["junction_id"], index=part.index).fillna("")
        agree = mapped == part["junction_id"].fillna("")
        assert agree.mean() > 0.995, site
    left = rows[rows["in_junction"] & (rows["turn"] == "left")]
    assert left["junction_signalised"].any() and not left["junction_signalised"].all()


def test_a_corner_junction_is_the_quarter_annulus_of_both_lanes():
    """Hand-computed area: a campus corner of radius R, lanes of width w (driven at R, passing at R - w)."""
    route = next(r for r in build_world().routes if r.kind == "campus")
    radius, width = route.loop.radius_m, route.lane_width_m
    polygons = load_lane_map(route.site_id).junction_polygons()
    corner = polygons[f"{route.route_id}-J0"]
    expected = np.pi / 4 * ((radius + width / 2) ** 2 - (radius - 1.5 * width) ** 2)
    assert corner.area == pytest.approx(expected, rel=0.01)


def test_injected_scenes_appear_in_the_truth(con):
    counts = dict(con.execute("select kind, count(*) from scenes group by all").fetchall())
    assert set(counts) == set(scenes.SCENE_KINDS) and min(counts.values()) >= 10, counts
    missed = con.execute("""
        select s.kind, count(*) filter (where not (case s.kind when 'cut_in' then t.cut_in
                                                    when 'jaywalker' then t.jaywalker
                                                    when 'unprotected_left' then t.unprotected_left
                                                    else t.dense_mixed_traffic end))
        from scenes s join truth t on t.vehicle_id = s.vehicle_id and t.ts between s.ts_start and s.ts_end
        group by all""").fetchall()
    assert all(n == 0 for _, n in missed), missed
    # an unprotected left is a left turn in a junction without lights; dense traffic is in the summary too
    assert con.execute("""select count(*) from truth where unprotected_left
                          and not (in_junction and turn = 'left' and not junction_signalised)""").fetchone()[0] == 0
    dense = con.execute(f"""
        select count(*) from truth t join perception_summary s using (vehicle_id, ts) where t.dense_mixed_traffic
        and not ({' + '.join(f's.n_{c}_30m' for c in scenes.VRU_CLASSES)} >= {scenes.DENSE_MIN_VRU}
                 and {' + '.join(f's.n_{c}_30m' for c in scenes.VEHICLE_CLASSES)} >= {scenes.DENSE_MIN_VEHICLES})
        """).fetchone()[0]
    assert dense == 0
    # at the end of an injected cut-in the car leads in the ego lane, close, on a track older than a second
    cut_end = con.execute("""
        select s.lead_class, s.lead_gap_m, s.lead_track_age_s from scenes c join perception_summary s
        on s.vehicle_id = c.vehicle_id and s.ts = c.ts_end
        where c.kind = 'cut_in' and c.object_class in ('car', 'scooter')""").df()
    assert len(cut_end) >= 10
    assert (cut_end["lead_gap_m"] <= 20).mean() > 0.95
    assert (cut_end["lead_track_age_s"] >= 1).mean() > 0.95
