"""Problems and curriculum on the simulated test fleet: the dbt warehouse of the session fixtures with its tag
store and a few cases scored by the nightly scorer, the three curriculum assets materialised by Dagster. Case
features against a plain recomputation from the bitmap; every case kept (unclustered ones with a null problem);
ids stable across a re-run and across a day added; trend intervals and version tests against scipy and the
scene exposure against the tag store's own; the curriculum's order, mining and export; the publication and the
report carry them; the assets sit downstream of the scorer and the tag store in the one code location."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from scipy import stats

from dagster_pipelines.curriculum.assets import curriculum, problems, trends
from dagster_pipelines.resources import WarehouseResource
from fleetloop.curriculum.config import ALL_VERSIONS, DEFAULT_CONFIG, EXAMPLE_TABLE
from fleetloop.curriculum.export import INDEX_JSON, MANIFEST_JSON, MANIFEST_PARQUET, MINED_CLIP, PACKAGE, stage_dir
from fleetloop.curriculum.pipeline import problems_step
from fleetloop.curriculum.stats import conditional_p
from fleetloop.mining.tags import load_tags
from fleetloop.mining.warehouse import build_warehouse_store
from fleetloop.publish import connect_published, publish
from fleetloop.report.problems import CHARTED_PROBLEMS, DRAWN_EXAMPLES
from fleetloop.scorer.nightly import NightlyConfig, run_nightly, write_tables
from fleetloop.scorer.scoring import COMPONENTS
from fleetloop.settings import Settings
from fleetloop.warehouse import connect
from fleetloop_shell.cli import main
from tests.fixtures.warehouse import copy_warehouse
from tests.test_ops_definitions import upstream_keys

SCORED_PER_DAY = 3  # a handful of replays: the scorer over the whole fleet is slow
SCORER = NightlyConfig(top_k=SCORED_PER_DAY, seed=3, robustness_variants=4)
REL = 1e-6
MIN_KEPT_SHARE = 0.8  # of the first day's problems that keep their id when the second day is added


def scored_warehouse(dbt_warehouse: Path, folder: Path, sim_days) -> Path:
    """A copy of the built warehouse with its tag store and the first cases of each day scored."""
    path = copy_warehouse(dbt_warehouse, folder)
    con = connect(path)
    try:
        build_warehouse_store(con)
        for day in sim_days:
            write_tables(con, day, run_nightly(con, day, folder / "packages", SCORER))
    finally:
        con.close()
    return path


def materialise(path: Path, start: dt.date) -> dg.ExecuteInProcessResult:
    settings = Settings.for_home(path.parent, warehouse=path, start_date=start)
    return dg.materialize([problems, trends, curriculum],
                          resources={"warehouse": WarehouseResource.from_settings(settings)})


@pytest.fixture(scope="module")
def base(dbt_warehouse, sim_fleet, tmp_path_factory) -> Path:
    return scored_warehouse(dbt_warehouse, tmp_path_factory.mktemp("curriculum_base"), sim_fleet.days)


@pytest.fixture(scope="module")
def built(base, sim_fleet, tmp_path_factory):
    path = copy_warehouse(base, tmp_path_factory.mktemp("curriculum_built"))
    result = materialise(path, min(sim_fleet.days))
    assert result.success
    con = connect(path)
    yield con, path, result
    con.close()


def _q(con, sql: str, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def test_case_tag_shares_equal_a_plain_recomputation(built):
    con, _, _ = built
    tags = load_tags()
    cases = con.execute("select case_id, vehicle_id, ts_start, ts_end from dwd.dwd_case order by case_id").fetchall()
    words = [f"w{w}" for w in range(max(t.word for t in tags) + 1)]
    seconds = collections.defaultdict(list)
    for row in con.execute(f"select vehicle_id, ts_s, {', '.join(words)} from dwd.dwd_second_tag").fetchall():
        seconds[row[0]].append(row[1:])
    want = {}
    for case_id, vehicle, start, end in cases:
        inside = [r for r in seconds[vehicle] if int(start.timestamp() // 1) <= r[0] < end.timestamp()]
        for t in tags:
            n = sum(1 for r in inside if (int(r[1 + t.word]) >> t.bit) & 1)
            if n:
                want[(case_id, t.name)] = (n, n / len(inside))
    got = {(c, t): (n, s) for c, t, n, s in con.execute(
        "select case_id, tag, seconds, share from ads.ads_case_tag").fetchall()}
    assert got.keys() == want.keys() and len(got) > 1000
    for key, (n, share) in want.items():
        assert got[key][0] == n and got[key][1] == pytest.approx(share, rel=1e-12)


def test_case_features_carry_the_case_and_the_scorers_verdict(built):
    con, _, _ = built
    feat = _q(con, "select * from ads.ads_case_feature")
    cases = _q(con, "select case_id, triggers, severity from dwd.dwd_case")
    assert sorted(feat["case_id"]) == sorted(cases["case_id"])
    merged = feat.merge(cases, on="case_id", suffixes=("", "_case"))
    assert (merged["severity"] == merged["severity_case"]).all()
    sols = _q(con, "select * from scorer.solutions")
    assert len(sols) and feat["scorer_status"].notna().sum() == sols["case_id"].nunique()
    for _, s in sols.iterrows():
        f = feat.set_index("case_id").loc[s["case_id"]]
        assert f["scorer_status"] == s["status"]
        if s["status"] == "error":
            continue
        assert list(f["failed_components"]) == [k for k in COMPONENTS if s[f"log_{k}"] < 1]
        fixed = [k for k in COMPONENTS if s["status"] == "improved" and s[f"sol_{k}"] > s[f"log_{k}"]]
        assert list(f["fixed_components"]) == fixed and f["package_path"] == s["package_path"]


def test_every_case_is_kept_and_unclustered_ones_have_no_problem(built):
    con, _, _ = built
    pc = _q(con, "select * from ads.ads_problem_case")
    assert len(pc) == con.execute("select count(*) from dwd.dwd_case").fetchall()[0][0] == pc["case_id"].nunique()
    loose = pc[pc["problem_id"].isna()]
    assert len(loose) > 0 and (loose["membership"] == 0).all()
    sizes = pc.dropna(subset=["problem_id"]).groupby("problem_id").size()
    prob = _q(con, "select problem_id, n_cases, name, status from ads.ads_problem where status = 'active'")
    assert dict(zip(prob["problem_id"], prob["n_cases"], strict=True)) == sizes.to_dict()
    assert (sizes >= DEFAULT_CONFIG.min_cluster_size).all()
    assert all(" | " in n or n for n in prob["name"])


def test_a_rerun_renumbers_nothing(built):
    con, _, _ = built
    before = con.execute("select case_id, problem_id from ads.ads_problem_case order by case_id").fetchall()
    names = con.execute("select problem_id, name from ads.ads_problem order by problem_id").fetchall()
    problems_step(con)
    assert con.execute("select case_id, problem_id from ads.ads_problem_case order by case_id").fetchall() == before
    assert con.execute("select problem_id, name from ads.ads_problem order by problem_id").fetchall() == names
    assert set(con.execute("select distinct matched_by from ads.ads_problem where status = 'active'")
               .fetchall()) == {("members",)}


def test_a_day_added_keeps_the_ids(base, tmp_path):
    path = copy_warehouse(base, tmp_path)
    con = connect(path)
    try:
        con.execute("create table main.all_cases as select * from dwd.dwd_case")
        last = con.execute("select max(dt) from dwd.dwd_case").fetchall()[0][0]
        con.execute("delete from dwd.dwd_case where dt = ?", [last])
        problems_step(con)
        first = dict(con.execute("select case_id, problem_id from ads.ads_problem_case").fetchall())
        first_max = max(p for p in first.values() if p is not None)
        con.execute("insert into dwd.dwd_case select * from main.all_cases where dt = ?", [last])
        problems_step(con)
        second = dict(con.execute("select case_id, problem_id from ads.ads_problem_case").fetchall())
        matched = con.execute("select problem_id, matched_by from ads.ads_problem where status = 'active'").fetchall()
    finally:
        con.close()
    members = collections.defaultdict(list)
    for case_id, pid in first.items():
        if pid is not None:
            members[pid].append(second[case_id])
    kept = [pid for pid, now in members.items() if collections.Counter(now).most_common(1)[0][0] == pid]
    assert len(kept) / len(members) >= MIN_KEPT_SHARE
    assert all(pid > first_max for pid, how in matched if how == "new")
    assert all(pid <= first_max for pid, how in matched if how != "new")


def test_trend_intervals_and_tests_are_scipys(built):
    con, _, _ = built
    trend = _q(con, "select * from ads.ads_problem_trend where exposure_km > 0")
    assert set(trend["grain"]) == {"day", "week"} and len(trend) > 0
    for _, r in trend.iterrows():
        k, km = int(r["n_cases"]), r["exposure_km"]
        assert r["ci_low"] == pytest.approx(0.0 if k == 0 else stats.chi2.ppf(0.025, 2 * k) / 2 / km * 1e4, rel=REL)
        assert r["ci_high"] == pytest.approx(stats.chi2.ppf(0.975, 2 * k + 2) / 2 / km * 1e4, rel=REL)
    day_all = trend[(trend["grain"] == "day") & (trend["version"] == ALL_VERSIONS)]
    totals = day_all.groupby("problem_id")["n_cases"].sum().to_dict()
    active = dict(con.execute("select problem_id, n_cases from ads.ads_problem where status = 'active'").fetchall())
    assert {p: n for p, n in totals.items() if n} == {p: n for p, n in active.items() if n}
    versions = _q(con, "select * from ads.ads_problem_version where not is_baseline")
    tested = versions[versions["p_value"].notna()]
    assert len(tested) > 0
    for _, r in tested.iterrows():
        k, b = int(r["n_cases"]), int(r["baseline_n_cases"])
        p = r["exposure_km"] / (r["exposure_km"] + r["baseline_exposure_km"])
        assert r["p_value"] == pytest.approx(stats.binomtest(k, k + b, p).pvalue, rel=REL)
        assert r["is_significant"] == (r["p_value"] < DEFAULT_CONFIG.alpha)


def test_the_version_test_is_ads_version_compares(built):
    """The rendered macro applied to ``ads_version_compare``'s own counts gives its p-values."""
    con, _, _ = built
    sql = conditional_p("event_count", "exposure_km", "baseline_event_count", "baseline_exposure_km")
    rows = con.execute(f"select p_value, {sql} from ads.ads_version_compare where not is_baseline").fetchall()
    assert rows and all(a == pytest.approx(b, rel=1e-12) for a, b in rows if a is not None)


def test_single_tag_scene_exposure_is_the_tag_stores(built):
    con, _, _ = built
    single = con.execute("select problem_id, scene_tags[1] from ads.ads_problem where status = 'active' "
                         "and len(scene_tags) = 1").fetchall()
    if not single:
        pytest.skip("no problem of this fleet has exactly one defining tag")
    for pid, tag in single:
        ours = con.execute("select period_start, version, exposure_s, exposure_km from ads.ads_problem_trend "
                           "where problem_id = ? and grain = 'day' and version != ? and exposure_s > 0 "
                           "order by 1, 2", [pid, ALL_VERSIONS]).fetchall()
        theirs = con.execute("select dt, version, sum(seconds), sum(km) from dws.dws_tag_1d where tag = ? "
                             "group by all order by 1, 2", [tag]).fetchall()
        assert [r[:3] for r in ours] == [r[:3] for r in theirs]
        assert [r[3] for r in ours] == pytest.approx([r[3] for r in theirs], rel=1e-9)


def test_curriculum_order_and_active_mining(built):
    con, _, result = built
    stages = _q(con, "select * from ads.ads_curriculum order by stage")
    assert list(stages["stage"]) == list(range(1, len(stages) + 1)) and len(stages) > 0
    assert stages["value"].is_monotonic_decreasing
    assert (stages["value"] == stages["n_failures"] * stages["mean_severity"] * stages["fix_rate"]).all()
    assert ((stages["weight"] >= 1) & (stages["weight"] <= DEFAULT_CONFIG.max_weight)).all()
    assert (stages["shortfall"] == (stages["target_samples"] - stages["n_packages"] - stages["n_mined_clips"])
            .clip(lower=0)).all()
    ops = {"offline", "error_burst", "call_guard", "site_anomaly"}
    staged = set(stages["problem_id"])
    for pid, triggers in con.execute("select problem_id, defining_triggers from ads.ads_problem "
                                     "where status = 'active'").fetchall():
        if triggers and set(triggers) <= ops:
            assert pid not in staged
    mined = _q(con, "select * from ads.ads_mined_case")
    per_query = stages.dropna(subset=["mining_query"]).groupby("mining_query")["n_mined_clips"].max()
    assert len(mined) == per_query.sum() > 0  # problems with the same query share its clips
    overlap = con.execute("""select count(*) from ads.ads_mined_case m join dwd.dwd_case c
        on c.vehicle_id = m.vehicle_id and c.ts_start <= m.ts_end and m.ts_start <= c.ts_end""").fetchall()[0][0]
    assert overlap == 0, "active mining queues unflagged scenes only"
    assert set(mined["query"]) <= set(stages["mining_query"].dropna())
    meta = result.asset_materializations_for_node("ads__ads_curriculum")[0].metadata
    assert meta["mined_clips"].value == len(mined)


def test_example_cases_are_the_strongest_members_with_their_logged_path(built):
    con, _, _ = built
    examples = _q(con, f"select * from {EXAMPLE_TABLE} order by problem_id, example_rank")
    members = _q(con, "select problem_id, case_id, membership from ads.ads_problem_case where problem_id is not null")
    assert len(examples) and set(examples["problem_id"]) == set(members["problem_id"])
    for pid, mine in members.groupby("problem_id"):
        strongest = mine.sort_values(["membership", "case_id"], ascending=[False, True])["case_id"]
        assert examples.loc[examples["problem_id"] == pid, "case_id"].tolist() == \
            strongest.head(DEFAULT_CONFIG.examples_per_problem).tolist()
    pad = dt.timedelta(seconds=DEFAULT_CONFIG.example_padding_s)
    for e in examples.head(8).itertuples():
        pose = _q(con, "select x_m, speed_mps from ods.ods_pose where vehicle_id = ? and ts >= ? and ts < ? "
                       "order by ts", [e.vehicle_id, e.ts_start - pad, e.ts_end + pad + dt.timedelta(seconds=1)])
        assert [(p["x_m"], p["speed_mps"]) for p in e.path] == list(zip(pose["x_m"], pose["speed_mps"], strict=True))


def test_published_file_export_and_report(built, tmp_path):
    from fleetloop.report.html import build_report

    con, path, _ = built
    con.execute("checkpoint")
    home = tmp_path / "home"
    settings = Settings.for_home(home, warehouse=copy_warehouse(path, home / "warehouse"))
    publish(settings, "run-curriculum")
    out = tmp_path / "export"
    assert main(["--home", str(home), "curriculum", "export", "--out", str(out)]) == 0
    pub = connect_published(settings.published)
    try:
        for table in ("ads_case_feature", "ads_problem", "ads_problem_case", "ads_problem_trend",
                      "ads_problem_version", "ads_curriculum"):
            assert pub.execute(f"select count(*) from ads.{table}").fetchall()[0][0] > 0, table
        stages = pub.execute("select stage, problem_id, weight, n_packages, n_mined_clips, target_samples "
                             "from ads.ads_curriculum order by stage").fetchall()
        html = build_report(pub)
    finally:
        pub.close()
    index = json.loads((out / INDEX_JSON).read_text())["stages"]
    assert [s["stage"] for s in index] == [s[0] for s in stages]
    for stage, _, weight, n_packages, n_mined, target in stages:
        folder = stage_dir(out, stage)
        items = pd.read_parquet(folder / MANIFEST_PARQUET)
        doc = json.loads((folder / MANIFEST_JSON).read_text())
        assert (items["kind"] == PACKAGE).sum() == n_packages == doc["items"][PACKAGE]
        assert (items["kind"] == MINED_CLIP).sum() == n_mined == doc["items"][MINED_CLIP]
        assert (items["weight"] == weight).all() and doc["stage"]["target_samples"] == target
        assert all(Path(p).is_file() for p in items.loc[items["kind"] == PACKAGE, "path"])
        prov = doc["provenance"]
        assert prov["publication_id"] == "run-curriculum" and prov["days"] and prov["versions"]
    assert "Problem scenarios" in html and "Curriculum" in html
    assert html.count(" example: case_") == min(CHARTED_PROBLEMS, len(stages)) * DRAWN_EXAMPLES  # drawn cases


def test_the_assets_sit_downstream_of_the_scorer_and_the_tag_store(tmp_path):
    from dagster_pipelines.definitions import build_definitions

    defs = build_definitions(Settings.for_home(tmp_path, start_date=dt.date(2026, 1, 1)))
    graph = defs.resolve_asset_graph()

    above = upstream_keys(graph, dg.AssetKey(["ads", "ads_curriculum"]))
    for key in (["scorer", "counterfactual_solutions"], ["dwd", "dwd_second_tag"], ["dws", "dws_tag_1d"],
                ["ads", "ads_problem"], ["ads", "ads_problem_trend"], ["dwd", "dwd_case"]):
        assert dg.AssetKey(key) in above, key
    assert dg.AssetKey(["ads", "ads_curriculum"]) in upstream_keys(graph, dg.AssetKey(["published_warehouse"]))
