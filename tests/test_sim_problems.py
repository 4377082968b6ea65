"""The simulator's problem families against the rest of its truth and the warehouse.

Every episode of ``_truth/problem_episodes.parquet`` is checked where its family says it is: site, light and
weather in ``_truth/scene_seconds.parquet``, map feature there (crosswalk, unprotected left junction, the lead
truck) or in the lane map seeds (an elevated curve under the logged pose), software version in the distance truth;
it is one ordinary truth event of its trigger and overlaps no other injected event or scene; each family has enough
members to cluster; and the warehouse's cases (``dwd.dwd_case``) cover the episodes with the expected trigger."""

import dataclasses
import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fleetloop.definitions import read_seed, triggers
from fleetloop.lanemap import load_lane_map
from fleetloop.sim import problems
from fleetloop.sim.fleet import BASELINE_VERSION, ROLLOUT_VERSION
from fleetloop.sim.world import build_world

MIN_MEMBERS = 15  # enough to cluster on the test fleet
MIN_RECALL = 0.95
US = pa.timestamp("us", tz="UTC")
EPISODE_SCHEMA = pa.schema([("episode_id", pa.string()), ("family", pa.string()), ("vehicle_id", pa.string()),
                            ("site_id", pa.string()), ("software_version", pa.string()), ("ts_start", US),
                            ("ts_end", US), ("expected_trigger", pa.string()), ("truth_id", pa.string())])
FAMILY_COLUMNS = ["family", "description", "expected_trigger", "defining_tags", "severity", "versions"]
TIER_SEVERITY = {"hard_brake": {"mild": 1, "hard": 2, "severe": 3}, "stuck": {"trend": 1, "problem": 2},
                 "weaving": {None: 2}}  # the severities dwd_event gives (hand-read from the trigger SQL)


@pytest.fixture(scope="module")
def episodes(sim_fleet) -> pd.DataFrame:
    return pd.read_parquet(sim_fleet.truth_dir / "problem_episodes.parquet")


@pytest.fixture(scope="module")
def events(sim_fleet) -> pd.DataFrame:
    return pd.read_parquet(sim_fleet.truth_dir / "events.parquet")


@pytest.fixture(scope="module")
def seconds(sim_fleet, episodes) -> pd.DataFrame:
    """The scene seconds inside each episode's window (one row per episode and second)."""
    with duckdb.connect() as con:
        con.register("ep", episodes)
        return con.execute(f"""
            select ep.episode_id, ep.family, ep.site_id as episode_site, s.*
            from ep join read_parquet('{sim_fleet.truth_dir}/scene_seconds.parquet') s
            on s.vehicle_id = ep.vehicle_id and s.ts between ep.ts_start and ep.ts_end""").df()


def test_the_truth_files_have_the_agreed_schema(sim_fleet):
    assert pq.read_schema(sim_fleet.truth_dir / "problem_episodes.parquet").remove_metadata() == EPISODE_SCHEMA
    families = pq.read_table(sim_fleet.truth_dir / "problem_families.parquet")
    assert families.column_names == FAMILY_COLUMNS
    assert families.schema.field("defining_tags").type == pa.list_(pa.string())
    assert families.schema.field("versions").type == pa.list_(pa.string())
    assert pa.types.is_integer(families.schema.field("severity").type)


def test_families_name_real_tags_versions_and_the_triggers_severity(sim_fleet):
    families = pd.read_parquet(sim_fleet.truth_dir / "problem_families.parquet").set_index("family")
    tags = {r["tag"] for r in read_seed("tag_definitions")}
    versions = {r["version"] for r in read_seed("software_versions")}
    assert len(families) >= 4 and families.index.is_unique
    for name, row in families.iterrows():
        f = problems.BY_NAME[name]
        assert row.expected_trigger in triggers()
        assert set(row.defining_tags) <= tags and len(row.defining_tags) > 0, name
        assert set(row.versions) <= versions and len(row.versions) > 0, name
        assert row.severity == TIER_SEVERITY[row.expected_trigger][f.tier], name
    assert list(families.loc["hesitation_unprotected_left_v33", "versions"]) == [ROLLOUT_VERSION]


def test_every_family_has_enough_members_and_the_v33_family_only_v33(episodes, sim_fleet):
    counts = episodes["family"].value_counts()
    assert set(counts.index) == {f.name for f in problems.FAMILIES}
    assert counts.min() >= MIN_MEMBERS, counts.to_dict()
    assert episodes["episode_id"].is_unique and episodes["truth_id"].is_unique
    hesitation = episodes[episodes["family"] == "hesitation_unprotected_left_v33"]
    assert (hesitation["software_version"] == ROLLOUT_VERSION).all()
    # the version truth (distance per vehicle-day) agrees, and v3.2.0 drove where v3.3 hesitates
    dist = pd.read_parquet(sim_fleet.truth_dir / "distance.parquet")
    day_version = dist.groupby(["vehicle_id", "dt"])["version"].first()
    days = hesitation["ts_start"].dt.date
    assert all(day_version[(v, d)] == ROLLOUT_VERSION for v, d in zip(hesitation["vehicle_id"], days, strict=True))
    assert BASELINE_VERSION in set(dist.loc[dist["vehicle_id"].isin(hesitation["vehicle_id"]), "version"])


def test_each_episode_is_one_truth_event_of_its_trigger(episodes, events):
    joined = episodes.merge(events, on="truth_id", how="left", suffixes=("", "_event"), validate="one_to_one")
    assert joined["trigger"].notna().all()
    assert (joined["trigger"] == joined["expected_trigger"]).all()
    assert (joined["vehicle_id_event"] == joined["vehicle_id"]).all()
    assert (joined["version"] == joined["software_version"]).all()
    assert (joined["site_id_event"] == joined["site_id"]).all()
    # the event lies inside its episode (a phantom brake's episode runs on until the crosswalk is crossed)
    assert (joined["ts_start_event"] == joined["ts_start"]).all() and (joined["ts_end_event"] <= joined["ts_end"]).all()
    attrs = joined["attributes"].map(json.loads)
    assert (attrs.map(lambda a: a.get("problem")) == joined["family"]).all()
    tiers = joined["family"].map(lambda f: problems.BY_NAME[f].tier)
    assert (joined["tier"].fillna("none") == tiers.fillna("none")).all()
    fix = dict(zip(joined["family"], joined["fix_family"], strict=True))
    assert fix == {"phantom_brake_crosswalk_night": "phantom_brake", "weaving_curve_rain": "weaving",
                   "stuck_double_parked_truck": "stuck_blocked", "hesitation_unprotected_left_v33": "stuck_clear"}


def test_episodes_are_where_their_family_says(episodes, seconds):
    assert set(seconds["episode_id"]) == set(episodes["episode_id"]), "an episode without a whole driven second"
    for name, g in seconds.groupby("family"):
        f = problems.BY_NAME[name]
        if f.site_id is not None:
            assert (g["site_id"] == f.site_id).all(), name
        assert (g["site_id"] == g["episode_site"]).all()
        if f.lights is not None:
            assert g["light"].isin(f.lights).all(), (name, g["light"].value_counts().to_dict())
        if f.weathers is not None:
            assert g["weather"].isin(f.weathers).all(), (name, g["weather"].value_counts().to_dict())
        per = g.groupby("episode_id")
        if name == "phantom_brake_crosswalk_night":
            assert per["on_crosswalk"].any().all()
        elif name == "stuck_double_parked_truck":
            assert (g["lead_class"] == "truck").all() and not g["in_junction"].any()
        elif name == "hesitation_unprotected_left_v33":
            assert (g["in_junction"] & (g["turn"] == "left") & ~g["junction_signalised"].astype(bool)).all()


def test_weaving_episodes_are_on_elevated_curves(sim_fleet, sim_clean, episodes):
    """The logged pose of every weaving episode projects onto a corner lane of its route whose lane map says
    elevated, and which turns (an arc) rather than runs straight."""
    routes = {v["vehicle_id"]: (v["site_id"], v["route_id"]) for v in sim_fleet.vehicles}
    pose = sim_clean["pose"]
    weaves = episodes[episodes["family"] == "weaving_curve_rain"]
    assert len(weaves) >= MIN_MEMBERS
    for ep in weaves.itertuples():
        site, route_id = routes[ep.vehicle_id]
        route = next(r for r in build_world().routes if r.route_id == route_id)
        lane_map = load_lane_map(site)
        lanes = dataclasses.replace(lane_map, lanes=[lane_map.lane(route.lane_id(i)) for i in range(8)])
        p = pose[(pose["vehicle_id"] == ep.vehicle_id) & (pose["ts"] >= ep.ts_start) & (pose["ts"] <= ep.ts_end)]
        _, idx = lanes.lateral_offset(p["x_m"], p["y_m"])
        assert len(set(idx)) == 1, ep.episode_id
        lane = lanes.lanes[idx[0]]
        d = np.diff(lane.centerline, axis=0)
        turn = np.abs(np.diff(np.unwrap(np.arctan2(d[:, 1], d[:, 0])))).sum()
        assert lane.road_type == problems.CURVE_ROAD_TYPE and turn > np.pi / 4, (ep.episode_id, lane.lane_id, turn)


def test_episodes_overlap_no_other_injected_event_or_scene(sim_fleet, episodes, events):
    scenes = pd.read_parquet(sim_fleet.truth_dir / "scenes.parquet")
    others = pd.concat([events[["vehicle_id", "ts_start", "ts_end", "truth_id"]],
                        scenes[["vehicle_id", "ts_start", "ts_end"]].assign(truth_id="scene")])
    others = others.assign(ts_start=others["ts_start"].astype(US.to_pandas_dtype()),
                           ts_end=others["ts_end"].astype(US.to_pandas_dtype()))
    pairs = episodes.merge(others, on="vehicle_id", suffixes=("", "_other"))
    clash = pairs[(pairs["truth_id_other"] != pairs["truth_id"]) & (pairs["ts_start_other"] <= pairs["ts_end"])
                  & (pairs["ts_end_other"] >= pairs["ts_start"])]
    assert clash.empty, clash[["episode_id", "truth_id_other", "ts_start_other"]].head(10).to_string()


@pytest.mark.slow
def test_the_warehouse_cases_cover_every_family(dbt_warehouse, episodes):
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        con.register("ep", episodes)
        covered = con.execute("""
            select ep.family, ep.episode_id,
                   bool_or(c.case_id is not null) as covered
            from ep left join dwd.dwd_case c
              on c.vehicle_id = ep.vehicle_id and c.ts_start <= ep.ts_end and c.ts_end >= ep.ts_start
             and list_contains(c.triggers, ep.expected_trigger)
            group by all""").df()
    recall = covered.groupby("family")["covered"].mean()
    assert len(recall) == len(problems.FAMILIES) and (recall >= MIN_RECALL).all(), recall.to_dict()
