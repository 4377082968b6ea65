"""The nightly scorer asset on the simulated fleet: the simulator -> ODS session fixture, a real
``dbt build`` of the case queue and its upstream models, the scorer asset materialised for each day."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from dagster_pipelines.resources import WarehouseResource
from dagster_pipelines.scorer import counterfactual_solutions
from fleetloop.scorer import package
from tests.fixtures.warehouse import _ods_path, copy_warehouse, run_dbt


@pytest.fixture(scope="module")
def scored_fleet(ods_warehouse, sim_fleet, tmp_path_factory):
    path = copy_warehouse(_ods_path(ods_warehouse), tmp_path_factory.mktemp("scorer_fleet"))
    run_dbt(["build", "--select", "+ads_case_queue", "--indirect-selection", "cautious"], path)
    packages = tmp_path_factory.mktemp("scorer_packages")
    for day in sim_fleet.days:
        res = dg.materialize(
            [counterfactual_solutions], partition_key=day.isoformat(),
            resources={"warehouse": WarehouseResource(database=str(path))},
            run_config={"ops": {"scorer__counterfactual_solutions": {"config": {
                "top_k": 6, "seed": 11, "packages_dir": str(packages)}}}},
        )
        assert res.success
    return path, sim_fleet.days


def test_every_queued_case_is_routed_and_accounted_for(scored_fleet):
    path, days = scored_fleet
    with duckdb.connect(str(path), read_only=True) as con:
        for day in days:
            queue = con.execute("select case_id, action from ads.ads_case_queue where dt = ? order by queue_rank "
                                "limit 6", [day]).fetchall()
            sols = dict(con.execute("select case_id, status from scorer.solutions where dt = ?", [day]).fetchall())
            raws = {r[0] for r in con.execute("select case_id from scorer.raw_upload_requests where dt = ?",
                                              [day]).fetchall()}
            assert queue, f"no cases queued on {day}"
            for case_id, action in queue:
                if action == "raw_upload":
                    assert case_id in raws and case_id not in sols
                else:
                    assert sols[case_id] in ("improved", "log_best", "error") and case_id not in raws


def test_claims_hold_up(scored_fleet):
    path, _ = scored_fleet
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select status, package_path, log_nc, sol_nc, log_c, sol_c, log_ttc, sol_ttc, log_dac, sol_dac, "
            "log_hard_brake_tier, sol_hard_brake_tier, n_candidates, robustness_variants, reason from scorer.solutions"
        ).fetchall()
    assert rows
    print("\nscorer on the simulated fleet:", {s: sum(r[0] == s for r in rows) for s in ("improved", "log_best", "error")})
    errors = [r[-1] for r in rows if r[0] == "error"]
    assert len(errors) <= len(rows) // 2, errors
    for (status, pkg, lnc, snc, lc, sc, lttc, sttc, ldac, sdac, ltier, stier, n, rob, _) in rows:
        if status == "improved":
            assert n >= 1000 and rob >= 20
            assert snc >= lnc and sc >= lc and sttc >= lttc and sdac >= ldac and stier <= ltier
            pair = package.decode(open(pkg, "rb").read())
            assert pair.decision_metadata["improved"] and pair.optimized_trajectory is not None
        elif status == "log_best":
            assert pkg is None
