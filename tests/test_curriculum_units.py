"""Problems and curriculum on hand-made inputs: stable-id matching, the case space and HDBSCAN independent of row
order and of the tree's leaf size, with an outlier left unclustered and names from dominant triggers and tags,
the interval and test SQL (rendered from the dbt macros) against scipy, and the curriculum's stages computed by
hand."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fleetloop.curriculum.clusters import NOISE, Cluster, cluster_labels, describe
from fleetloop.curriculum.config import DEFAULT_CONFIG, CurriculumConfig
from fleetloop.curriculum.identity import BY_CENTROID, BY_MEMBERS, NEW, StoredProblem, match
from fleetloop.curriculum.space import CaseSpace, case_space
from fleetloop.curriculum.stages import stage_rows
from fleetloop.curriculum.stats import conditional_p, rate_interval

REL = 1e-6


def _cluster(members: set[str], centroid: dict[str, float]) -> Cluster:
    return Cluster(frozenset(members), centroid, ("hard_brake",), ())


def test_match_by_members_then_centroid_new_ids_after_the_largest():
    stored = [StoredProblem(3, frozenset({"a", "b", "c", "d"}), {"x": 1.0}),
              StoredProblem(7, frozenset({"p", "q"}), {"x": 5.0, "y": 1.0}),
              StoredProblem(9, frozenset({"z"}), {"x": -4.0})]
    clusters = [_cluster({"e", "f"}, {"x": 5.1, "y": 1.0}),  # no overlap, next to problem 7's centroid
                _cluster({"b", "c", "d", "e"}, {"x": 2.0}),  # Jaccard 3/5 with problem 3
                _cluster({"m", "n"}, {"x": 40.0})]  # like nothing: new
    assert match(clusters, stored, DEFAULT_CONFIG) == [(7, BY_CENTROID), (3, BY_MEMBERS), (10, NEW)]
    # the same clusters matched against what that run would store keep every id
    again = [StoredProblem(pid, c.members, c.centroid) for c, (pid, _) in
             zip(clusters, match(clusters, stored, DEFAULT_CONFIG), strict=True)]
    assert match(clusters, again, DEFAULT_CONFIG) == [(7, BY_MEMBERS), (3, BY_MEMBERS), (10, BY_MEMBERS)]
    # a weak overlap is no match: Jaccard 1/7 < match_min_jaccard, and the centroid is far
    weak = [_cluster({"a", "x1", "x2", "x3"}, {"x": 30.0})]
    assert match(weak, stored[:1], DEFAULT_CONFIG) == [(4, NEW)]


def _synthetic_cases(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two tight groups of 12 (hard brakes at night on crosswalks; weaving in rain) and one odd case."""
    cases, tags = [], []
    for i in range(12):
        cases.append({"case_id": f"a{i:02d}", "triggers": ["hard_brake"], "site_id": "s1", "vehicle_class": "c1"})
        tags += [{"case_id": f"a{i:02d}", "tag": "night", "family": "time_light", "share": 1.0},
                 {"case_id": f"a{i:02d}", "tag": "crosswalk", "family": "road_map",
                  "share": 0.7 + 0.02 * rng.random()}]
        cases.append({"case_id": f"b{i:02d}", "triggers": ["weaving"], "site_id": "s2", "vehicle_class": "c1"})
        tags += [{"case_id": f"b{i:02d}", "tag": "rain", "family": "weather", "share": 1.0},
                 {"case_id": f"b{i:02d}", "tag": "speed_30_40kmh", "family": "ego", "share": rng.random()}]
    cases.append({"case_id": "odd", "triggers": ["stuck", "takeover"], "site_id": "s3", "vehicle_class": "c2"})
    tags.append({"case_id": "odd", "tag": "fog", "family": "weather", "share": 1.0})
    return pd.DataFrame(cases), pd.DataFrame(tags)


def test_space_and_clusters_do_not_depend_on_row_order_and_an_outlier_stays_unclustered():
    cases, tags = _synthetic_cases(np.random.default_rng(1))
    cfg = CurriculumConfig()
    space = case_space(cases, tags, cfg)
    shuffled = case_space(cases.sample(frac=1, random_state=4), tags.sample(frac=1, random_state=5), cfg)
    assert space.case_ids == shuffled.case_ids and space.columns == shuffled.columns
    np.testing.assert_array_equal(space.matrix, shuffled.matrix)
    assert "tag:speed_30_40kmh" not in space.columns  # excluded prefix
    assert space.matrix[:, space.columns.index("trigger:hard_brake")].max() == cfg.trigger_weight
    labels, strength = cluster_labels(space, cfg)
    np.testing.assert_array_equal(labels, cluster_labels(shuffled, cfg)[0])
    by_case = dict(zip(space.case_ids, labels, strict=True))
    assert by_case["odd"] == NOISE and strength[space.case_ids.index("odd")] == 0
    assert len({by_case[f"a{i:02d}"] for i in range(12)}) == 1 and len({by_case[f"b{i:02d}"] for i in range(12)}) == 1
    assert by_case["a00"] != by_case["b00"] != NOISE
    names = {min(c.members)[0]: c.name for c in describe(space, labels, cfg)}
    # night: share 1 vs 12/25 over all cases (lift 0.52); crosswalk ~0.71 vs ~0.34 (lift ~0.37)
    assert names == {"a": "hard_brake | night, crosswalk", "b": "weaving | rain"}


def test_the_tree_leaf_size_changes_no_label():
    """Core distances are exact, so the leaf size (chosen for speed) cannot move a case: the configured leaves give
    the labels and memberships of scikit-learn's default leaf (40) on overlapping groups with ties."""
    rng = np.random.default_rng(3)
    cases, tags = _synthetic_cases(rng)
    space = case_space(cases, tags, CurriculumConfig())
    matrix = np.vstack([space.matrix, space.matrix[:8], space.matrix + rng.normal(0, 0.3, space.matrix.shape)])
    wide = CaseSpace(tuple(f"c{i:03d}" for i in range(len(matrix))), space.columns, matrix, matrix)
    default_leaf = CurriculumConfig(leaf_size=40)
    assert CurriculumConfig().leaf_size > len(matrix) > default_leaf.leaf_size  # one leaf against a real tree
    labels, strength = cluster_labels(wide, CurriculumConfig())
    expected_labels, expected_strength = cluster_labels(wide, default_leaf)
    assert len(set(labels) - {NOISE}) >= 2
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(strength, expected_strength)


@pytest.mark.parametrize("k,km", [(0, 120.0), (1, 3.5), (7, 800.0), (64, 15_000.0), (420, 2.0e5)])
def test_rate_interval_sql_is_the_exact_poisson_interval(k, km):
    low, high = rate_interval("k", "km")
    got = duckdb.execute(f"select {low}, {high} from (select {k}::bigint as k, {km}::double as km)").fetchall()[0]
    want_low = 0.0 if k == 0 else stats.chi2.ppf(0.025, 2 * k) / 2 / km * 1e4
    want_high = stats.chi2.ppf(0.975, 2 * k + 2) / 2 / km * 1e4
    assert got[0] == pytest.approx(want_low, rel=REL, abs=1e-12) and got[1] == pytest.approx(want_high, rel=REL)


@pytest.mark.parametrize("k,km,b,bkm", [(12, 100.0, 3, 200.0), (0, 50.0, 9, 40.0), (5, 10.0, 5, 10.0),
                                        (30, 1.0, 1, 1.0)])
def test_conditional_p_sql_is_scipys_binomial_test(k, km, b, bkm):
    sql = conditional_p("k", "km", "b", "bkm")
    got = duckdb.execute(f"select {sql} from (select {k}::bigint as k, {km}::double as km, {b}::bigint as b, "
                         f"{bkm}::double as bkm)").fetchall()[0][0]
    assert got == pytest.approx(stats.binomtest(k, k + b, km / (km + bkm)).pvalue, rel=REL)


def test_stage_rows_by_hand():
    cfg = CurriculumConfig(total_target_samples=1000, min_stage_samples=50, max_weight=10.0, fix_rate_prior=1.0)
    base = {"n_packages": 0, "mining_query": None, "defining_triggers": ["hard_brake"]}
    problems = [
        base | {"problem_id": 1, "name": "p1", "n_cases": 50, "n_failures": 40, "mean_severity": 1.0, "n_scored": 8,
                "n_improved": 2, "n_packages": 2},
        base | {"problem_id": 2, "name": "p2", "n_cases": 10, "n_failures": 10, "mean_severity": 3.0, "n_scored": 0,
                "n_improved": 0, "mining_query": "night and crosswalk"},
        base | {"problem_id": 3, "name": "ops", "n_cases": 90, "n_failures": 90, "mean_severity": 2.0, "n_scored": 0,
                "n_improved": 0, "defining_triggers": ["offline"]},  # operations only: no stage
    ]
    rows = stage_rows(problems, {"night and crosswalk": 7}, cfg)
    # p1: fix (2+1)/(8+2) = 0.3, value 40 x 1 x 0.3 = 12; p2: fix 1/2, value 10 x 3 x 0.5 = 15
    assert [(r["stage"], r["problem_id"]) for r in rows] == [(1, 2), (2, 1)]
    assert [r["value"] for r in rows] == pytest.approx([15.0, 12.0])
    assert [r["target_samples"] for r in rows] == [round(1000 * 15 / 27), round(1000 * 12 / 27)]
    # median of (10, 50) = 30: p2 weight 3 x 30 / 10 = 9, p1 1 x 30 / 50 < 1 -> 1
    assert [r["weight"] for r in rows] == [9.0, 1.0]
    assert [r["n_mined_clips"] for r in rows] == [7, 0]
    assert [r["shortfall"] for r in rows] == [556 - 7, 444 - 2]
