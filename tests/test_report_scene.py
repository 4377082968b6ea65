"""Rates conditioned on scenes and the report's scene page, on the session's dbt-built test fleet with the tag store
built on it, ads_scene_rate rebuilt by dbt, a real publication and the report written from it. Oracles: the
exposure recomputed with numpy from the bitmap words and the seeds (bit = row of the seed), the events from
dwd_event joined to their start second in plain pandas, the intervals from scipy's chi-square quantiles; the page
shows the table's numbers; Dagster runs the all-days models after the tag store."""

from __future__ import annotations

import datetime as dt
import re
from html import escape
from types import SimpleNamespace

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fleetloop.definitions import read_seed
from fleetloop.mining.scenes import ALL_SECONDS, SceneDefinitionError, scenes_from_rows
from fleetloop.mining.tags import load_tags
from fleetloop.mining.warehouse import build_warehouse_store
from fleetloop.publish import publish
from fleetloop.report.html import write_report
from fleetloop.report.scene import CLIP_CARDS, MIN_CHART_KM, SCENE_METRICS
from fleetloop.settings import Settings
from fleetloop.warehouse import connect
from tests.fixtures.warehouse import copy_warehouse, run_dbt

KM_REL = 1e-9  # float sums in another order
KM_ABS = 1e-8  # the table sums each day's km exactly as DECIMAL(38, 9): nano-km per day
CI_REL = 1e-6  # the SQL chi-square quantile against scipy's
ADS = "ads.ads_scene_rate"
KEY = ["scene", "site_id", "version"]


@pytest.fixture(scope="module")
def scene(dbt_warehouse, tmp_path_factory):
    settings = Settings.for_home(tmp_path_factory.mktemp("scene_home"))
    copy_warehouse(dbt_warehouse, settings.warehouse.parent)
    con = connect(settings.warehouse, settings)
    try:
        build_warehouse_store(con)
    finally:
        con.close()
    run_dbt(["build", "--select", "ads_scene_rate"], settings.warehouse)
    publish(settings, run_id="scene-test-run")
    path = write_report(settings.published, settings.reports / "scene_report.html")
    con = connect(settings.published, settings, read_only=True)
    try:
        tables = {name: con.execute(f"select * from {name}").df() for name in (
            ADS, "dwd.dwd_second_tag", "dwd.dwd_event", "dwd.dwd_scene_example")}
        tables["features"] = con.execute("select vehicle_id, ts_s, speed_mps from dwd.dwd_second_feature").df()
        published = {f"{s}.{t}" for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables()").fetchall()}
    finally:
        con.close()
    return SimpleNamespace(settings=settings, html=path.read_text(), published=published, **{
        k.split(".")[-1]: v for k, v in tables.items()})


def _holds(seconds: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """(kind, scene) -> which rows of ``seconds`` (the bitmap) it holds on, from the seeds alone: tag i is bit
    i % 64 of word w{i // 64}; a scene is its tags' ``and``; all_seconds every row."""
    out = {}
    for tag in load_tags():
        word = seconds[f"w{tag.tag_id // 64}"].to_numpy(np.uint64)
        out["tag", tag.name] = ((word >> np.uint64(tag.tag_id % 64)) & np.uint64(1)).astype(bool)
    for row in read_seed("scene_definitions"):
        out["scene", row["scene"]] = np.logical_and.reduce([out["tag", t.strip()] for t in row["query"].split(" and ")])
    out["all", ALL_SECONDS] = np.ones(len(seconds), bool)
    return out


def test_exposure_equals_a_plain_recomputation(scene):
    seconds = scene.dwd_second_tag.merge(scene.features, on=["vehicle_id", "ts_s"], how="left")
    expected = {}
    for (kind, name), mask in _holds(seconds).items():
        part = seconds[mask]
        for (site, version), g in part.groupby(["site_id", "version"]):
            expected[kind, name, site, version] = (len(g), g["speed_mps"].fillna(0).sum() / 1000)
    ads = scene.ads_scene_rate.drop_duplicates(["scene_kind", *KEY])
    got = {(r.scene_kind, r.scene, r.site_id, r.version): (r.exposure_s, r.exposure_km) for r in ads.itertuples()}
    assert set(got) == set(expected)
    assert any(k[0] == "scene" for k in got) and any(k[0] == "tag" for k in got)
    for key, (n_s, km) in expected.items():
        assert got[key][0] == n_s, key
        assert got[key][1] == pytest.approx(km, rel=KM_REL, abs=KM_ABS), key
    hours = ads.set_index(["scene_kind", *KEY])
    assert np.allclose(hours["exposure_h"], hours["exposure_s"] / 3600)


def _event_second(ts: pd.Timestamp) -> int:
    """The second an event counts in: its start rounded to the nearest second, halves to even (DuckDB's cast of
    ``epoch(ts_start)``, as the feature table's trigger flags round it)."""
    return round(ts.timestamp())


def test_events_equal_dwd_event_joined_to_the_tag_seconds(scene):
    family = {r["trigger"]: r["family"] for r in read_seed("trigger_catalog")}
    event_triggers = {r["trigger"] for r in read_seed("trigger_definitions")}
    metrics = {family[t] for t in event_triggers if t in family} | {"mps"}
    events = scene.dwd_event.loc[scene.dwd_event["vehicle_id"].notna(), ["event_id", "vehicle_id", "ts_start",
                                                                         "trigger", "tier"]].copy()
    events["ts_s"] = [_event_second(ts) for ts in events["ts_start"]]
    seconds = scene.dwd_second_tag.reset_index(drop=True)
    holds = _holds(seconds)
    joined = events.merge(seconds.reset_index(), on=["vehicle_id", "ts_s"])
    assert len(joined) > 0
    expected: dict[tuple, int] = {}
    for (_, name), mask in holds.items():
        hit = joined[mask[joined["index"].to_numpy()]]
        for e in hit.itertuples():
            fam = family.get(e.trigger)
            is_mps = fam == "driving" and (e.tier or "") != "mild"
            for metric in [fam] + (["mps"] if is_mps else []):
                expected[name, e.site_id, e.version, metric] = expected.get((name, e.site_id, e.version, metric), 0) + 1
    ads = scene.ads_scene_rate
    assert set(ads["metric"]) == metrics
    got = {(r.scene, r.site_id, r.version, r.metric): r.event_count for r in ads.itertuples()}
    assert set(expected) <= set(got)
    assert {k: v for k, v in got.items() if v} == expected
    assert sum(v for k, v in expected.items() if k[0] == ALL_SECONDS and k[3] != "mps") == len(joined)


def test_intervals_equal_scipys_exact_poisson_interval(scene):
    ads = scene.ads_scene_rate
    n, km = ads["event_count"].to_numpy(), ads["exposure_km"].to_numpy()
    ok = km > 0
    low = np.where(n > 0, stats.chi2.ppf(0.025, 2 * np.maximum(n, 1)) / 2, 0.0)
    high = stats.chi2.ppf(0.975, 2 * n + 2) / 2
    assert ok.any() and (n[ok] > 0).any()
    np.testing.assert_allclose(ads["rate_per_10k_km"].to_numpy()[ok], n[ok] / km[ok] * 1e4, rtol=1e-12)
    np.testing.assert_allclose(ads["ci_low"].to_numpy()[ok], low[ok] / km[ok] * 1e4, rtol=CI_REL, atol=1e-12)
    np.testing.assert_allclose(ads["ci_high"].to_numpy()[ok], high[ok] / km[ok] * 1e4, rtol=CI_REL)
    assert ads.loc[~ok, "rate_per_10k_km"].isna().all()


def test_the_published_file_carries_what_the_page_reads(scene):
    assert {ADS, "dws.dws_tag_1d", "dws.dws_scene_1d", "dwd.dwd_event_scene", "dwd.dwd_scene_example",
            "dwd.dwd_second_tag", "dwd.dim_tag", "dwd.dim_tag_span", "dwd.dwd_tag_run", "ref.lane_points",
            "ref.vehicle_classes", "ref.scene_definitions"} <= scene.published


def _num(v: float) -> str:
    """The page's convention, written out: thousands separators from 1,000, else 3 significant digits."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, float):
        return _num(v)
    return str(v)


def _row(*cells: object) -> str:
    return "<tr>" + "".join(f"<td>{escape(_cell(c))}</td>" for c in cells) + "</tr>"


def test_the_page_shows_the_numbers_of_the_table(scene):
    html, ads = scene.html, scene.ads_scene_rate
    assert "<script" not in html and not re.search(r"""(src|href)\s*=\s*["']?https?://""", html)
    shown = ads[(ads["scene_kind"] != "tag") & ads["metric"].isin(SCENE_METRICS)]
    assert len(shown) > 0
    for r in shown.itertuples():
        ci = f"95% CI [{_num(r.ci_low)}, {_num(r.ci_high)}]"
        assert _row(r.scene, r.definition, r.site_id, r.version, r.metric, r.exposure_h, r.exposure_km,
                    int(r.event_count), r.rate_per_10k_km, ci) in html, r
        tip = (f"{r.scene} at {r.site_id}, {r.version}: {r.metric} {_num(r.rate_per_10k_km)} per 10k km, {ci}, "
               f"n = {int(r.event_count):,} in {_num(r.exposure_km)} km")
        assert (escape(tip) in html) == (r.exposure_km >= MIN_CHART_KM), tip
    for r in ads[ads["scene_kind"] == "all"].drop_duplicates(KEY).itertuples():
        assert _row(r.site_id, r.version, int(r.n_days), r.exposure_h, r.exposure_km)[:-5] in html, r


def test_example_clips_are_drawn_and_hold_their_scene(scene):
    cards = re.findall(r'<div class="case clip">.*?</p></div>', scene.html, re.S)
    examples = scene.dwd_scene_example
    assert 2 <= len(cards) == min(CLIP_CARDS, examples["scene"].nunique())
    seconds = scene.dwd_second_tag.reset_index(drop=True)
    holds = _holds(seconds)
    for card in cards:
        name = re.search(r"<h3>(.*?)</h3>", card).group(1)
        clip = examples[(examples["scene"] == name) & (examples["clip_rank"] == 1)].iloc[0]
        first, last = int(clip["clip_start"].timestamp()), int(clip["clip_end"].timestamp())
        assert f"Vehicle {clip['vehicle_id']} " in card
        assert f"from {clip['clip_start'].astimezone(dt.UTC):%H:%M:%S} to " in card
        assert f"to {clip['clip_end'].astimezone(dt.UTC):%H:%M:%S} UTC" in card
        mine = seconds["vehicle_id"].eq(clip["vehicle_id"]).to_numpy() & holds["scene", name]
        run = set(seconds.loc[mine, "ts_s"])
        assert set(range(first, last + 1)) <= run and first - 1 not in run and last + 1 not in run
        assert clip["matched_s"] == last - first + 1
        assert card.count("<svg") == 2 and "<polygon" in card and "<polyline" in card  # lanes, path, box
        assert f"start {clip['clip_start'].astimezone(dt.UTC):%H:%M:%S}" in card  # the matching seconds marked
        path_ts = [p["ts"] for p in clip["path"]]
        assert path_ts[0] <= clip["clip_start"] - dt.timedelta(seconds=1) and path_ts == sorted(path_ts)


@pytest.mark.parametrize(("query", "fault"), [
    ("rain and nigth", "unknown tag"),
    ("rain or night", "not a conjunction"),
    ("rain and night where site = bj_yizhuang", "not a conjunction"),
    ("rain for at least 5s", "not a conjunction"),
])
def test_a_scene_that_is_not_a_conjunction_of_tags_is_refused(query, fault):
    tag_map = {t.name: (t.word, t.bit) for t in load_tags()}
    with pytest.raises(SceneDefinitionError, match=f"scene 'bad'.*{fault}"):
        scenes_from_rows([{"scene": "bad", "query": query, "description": ""}], tag_map)
    with pytest.raises(SceneDefinitionError, match="taken"):
        scenes_from_rows([{"scene": "rain", "query": "rain", "description": ""}], tag_map)
    (ok,) = scenes_from_rows([{"scene": "wet_night", "query": "rain and night and rain", "description": "x"}],
                             tag_map)
    assert ok.tags == ("rain", "night")


def test_dagster_runs_the_all_days_models_after_the_tag_store(tmp_path_factory):
    from dagster_pipelines.definitions import build_definitions

    defs = build_definitions(Settings.for_home(tmp_path_factory.mktemp("defs"), start_date=dt.date(2026, 1, 1)))
    graph = defs.resolve_asset_graph()
    rates = dg.AssetKey(["ads", "ads_scene_rate"])
    store = {dg.AssetKey(["dws", "dws_tag_1d"]), dg.AssetKey(["dws", "dws_scene_1d"]),
             dg.AssetKey(["dwd", "dwd_event_scene"]), dg.AssetKey(["dwd", "dim_tag"])}
    assert store <= graph.get(rates).parent_keys
    assert {graph.assets_def_for_key(k).node_def.name for k in store} == {"tag_store"}
    assert graph.assets_def_for_key(rates).node_def.name == "warehouse_all_days"
    tag_store_parents = graph.get(dg.AssetKey(["dws", "dws_scene_1d"])).parent_keys
    assert {dg.AssetKey(["dwd", "dwd_event"]), dg.AssetKey(["dwd", "dwd_second_feature"]),
            dg.AssetKey(["ref", "scene_definitions"])} <= tag_store_parents
