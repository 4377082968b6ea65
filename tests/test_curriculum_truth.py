"""Problems against the simulator's recurring problem families (``_truth/problem_episodes.parquet``,
``_truth/problem_families.parquet``): cases overlapping an episode get its family's problem, the adjusted Rand
index on those cases is at least 0.9, the family only one version has shows a significant version change, and
the curriculum's first stages are the families the truth ranks most frequent x severe. Skipped when the
simulator writes no problem families."""

from __future__ import annotations

import pytest

from fleetloop.curriculum.truth import (
    EPISODES,
    FAMILIES,
    adjusted_rand,
    labelled_cases,
    problem_of_family,
    ranked_families,
    read_truth,
)
from fleetloop.warehouse import connect
from tests.fixtures.warehouse import copy_warehouse
from tests.test_curriculum_fleet import materialise, scored_warehouse

MIN_ARI = 0.9
MIN_FAMILY_SHARE = 0.9  # of a family's cases in its problem


@pytest.fixture(scope="module")
def truth(sim_fleet):
    found = read_truth(sim_fleet.truth_dir)
    if found is None:
        pytest.skip(f"the simulator wrote no problem families ({EPISODES}, {FAMILIES} absent in _truth/)")
    return found


@pytest.fixture(scope="module")
def labelled(truth, dbt_warehouse, sim_fleet, tmp_path_factory):
    """Per case overlapping an episode: its family (the episode it overlaps most) and its problem."""
    episodes, _ = truth
    base = scored_warehouse(dbt_warehouse, tmp_path_factory.mktemp("truth_base"), sim_fleet.days)
    path = copy_warehouse(base, tmp_path_factory.mktemp("truth_built"))
    assert materialise(path, min(sim_fleet.days)).success
    con = connect(path)
    yield con, labelled_cases(con, episodes)
    con.close()


def test_cases_of_an_episode_get_its_familys_problem(labelled):
    _, cases = labelled
    assert len(cases) > 0
    for family, problem in problem_of_family(cases).items():
        mine = cases[cases["family"] == family]
        assert problem is not None and (mine["problem_id"] == problem).mean() >= MIN_FAMILY_SHARE, family


def test_adjusted_rand_index(labelled):
    _, cases = labelled
    ari = adjusted_rand(cases)
    print(f"adjusted Rand index {ari:.3f} on {len(cases)} cases of {cases['family'].nunique()} families")
    assert ari >= MIN_ARI


def test_the_one_version_family_is_a_significant_version_change(labelled, truth):
    con, cases = labelled
    _, families = truth
    single = families[families["versions"].map(len) == 1]
    assert len(single) > 0
    problem_of = problem_of_family(cases)
    for family, versions in zip(single["family"], single["versions"], strict=True):
        row = con.execute("select is_significant, rate_ratio from ads.ads_problem_version where problem_id = ? "
                          "and version = ?", [problem_of[family], versions[0]]).fetchall()
        assert row and row[0][0], family


def test_the_first_stages_are_the_most_frequent_and_severe_families(labelled, truth):
    con, cases = labelled
    ranked = ranked_families(*truth)
    family_of = {p: f for f, p in problem_of_family(cases).items()}
    stages = [family_of[p] for (p,) in con.execute("select problem_id from ads.ads_curriculum order by stage")
              .fetchall() if p in family_of]
    assert stages[:1] == ranked[:1]
    assert set(stages[:len(ranked)]) == set(ranked)
