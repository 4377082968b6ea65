"""``fleetloop score --metric navsim-pdms`` on the real CommonRoad scenes: every recorded human log passes
comfort and the drivable area unless its box already starts off the mapped lanes, the CSV round trip, and
clear errors for bad trajectory files."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import shapely
from commonroad.common.file_reader import CommonRoadFileReader

from fleetloop.scorer.commonroad_scene import load_commonroad
from fleetloop.scorer.navsim import cache as metric_cache
from fleetloop.scorer.navsim.cache import DT_S, OBSERVATION_STEPS
from fleetloop.scorer.navsim.pdm_score import pdm_score
from fleetloop.scorer.navsim.reference import with_pdm_closed
from fleetloop_shell.cli import main
from tests.fixtures.commonroad import US101_FILES

OFF_ROAD_TOLERANCE_M = 0.1


def recorded_vehicles(path) -> list[int]:
    scenario, _ = CommonRoadFileReader(str(path)).open()
    return [o.obstacle_id for o in scenario.dynamic_obstacles]


def off_the_lanes_m(path, scene, steps: int) -> float:
    """How far the recorded box pokes out of the union of the raw lanelet polygons over the first ``steps``
    steps (m; 0 when it stays on them)."""
    scenario, _ = CommonRoadFileReader(str(path)).open()
    road = shapely.union_all([shapely.make_valid(ll.polygon.shapely_object)
                              for ll in scenario.lanelet_network.lanelets])
    hl, hw = scene.ego.length_m / 2, scene.ego.width_m / 2
    worst = 0.0
    for _, x, y, h, _ in scene.ego_log[: steps + 1]:
        c, s = np.cos(h), np.sin(h)
        for a, b in ((hl, hw), (hl, -hw), (-hl, hw), (-hl, -hw)):
            corner = shapely.Point(x + a * c - b * s, y + a * s + b * c)
            worst = max(worst, road.distance(corner))
    return worst


@pytest.fixture(scope="module")
def human_logs():
    rows = []
    for path in US101_FILES:
        for ego_id in recorded_vehicles(path):
            try:
                scene = load_commonroad(path, ego_id=ego_id, horizon_s=OBSERVATION_STEPS * DT_S)
            except ValueError:
                continue  # not recorded over the horizon
            cache = with_pdm_closed(metric_cache.build(scene), scene)
            result = pdm_score(cache, scene.ego_log[1:, 1:4], scene.ego_log[1:, 0])
            off = off_the_lanes_m(path, scene, cache.steps)
            rows.append((path.name, ego_id, off, result))
    return rows


def test_human_logs_pass_comfort_and_drivable_area(human_logs):
    assert len(human_logs) >= 20
    table = [(f, e, round(off, 2), r["drivable_area_compliance"], r["comfort"], round(r["score"], 3))
             for f, e, off, r in human_logs]
    print("\nUS-101 human logs under NAVSIM PDMS (file, ego, recorded box off the lanes m, DAC, C, PDMS):", table)
    for f, e, off, r in human_logs:
        assert r["comfort"] == 1.0, (f, e)
        assert r["no_at_fault_collisions"] == 1.0, (f, e)
        # DAC agrees with the recorded box against the raw lanelets, wherever the tracker's few cm don't matter
        if off == 0.0:
            assert r["drivable_area_compliance"] == 1.0, (f, e)
        elif off > OFF_ROAD_TOLERANCE_M:
            assert r["drivable_area_compliance"] == 0.0, (f, e, off)
    assert sum(off == 0.0 for _, _, off, _ in human_logs) >= 0.8 * len(human_logs)
    # every logged driver on the road makes progress measured against PDM-Closed's
    assert all(0.0 < r["ego_progress"] <= 1.0 for *_, r in human_logs if r["drivable_area_compliance"] == 1.0)


def write_csv(path, rows):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "x_m", "y_m", "heading_rad", "speed_mps"])
        w.writerows(rows)


def test_cli_scores_a_csv_trajectory_as_the_log(tmp_path, capsys):
    path = US101_FILES[-1]
    scene = load_commonroad(path, ego_id=451, horizon_s=OBSERVATION_STEPS * DT_S)
    write_csv(tmp_path / "log.csv", scene.ego_log[:41].tolist())
    assert main(["score", "--commonroad", str(path), "--ego", "451", "--json"]) == 0
    from_log = json.loads(capsys.readouterr().out)
    assert main(["score", "--commonroad", str(path), "--ego", "451", "--trajectory", str(tmp_path / "log.csv"),
                 "--json"]) == 0
    from_csv = json.loads(capsys.readouterr().out)
    keys = ("no_at_fault_collisions", "drivable_area_compliance", "ego_progress", "time_to_collision_within_bound",
            "comfort", "score")
    assert {k: from_csv[k] for k in keys} == pytest.approx({k: from_log[k] for k in keys})
    nc, dac, ep, ttc, c = (from_csv[k] for k in keys[:5])
    assert from_csv["score"] == pytest.approx(nc * dac * (5 * ep + 5 * ttc + 2 * c) / 12)
    assert from_csv["horizon_s"] == pytest.approx(4.0)
    # a trajectory that swerves 6 m to the left of the log within 2 s leaves the road or hits a neighbour
    swerve = scene.ego_log[:41].copy()
    u = np.minimum(swerve[:, 0] / 2.0, 1.0)
    lateral = 6.0 * (10 * u**3 - 15 * u**4 + 6 * u**5)
    swerve[:, 1] -= np.sin(swerve[:, 3]) * lateral
    swerve[:, 2] += np.cos(swerve[:, 3]) * lateral
    write_csv(tmp_path / "swerve.csv", swerve.tolist())
    assert main(["score", "--commonroad", str(path), "--ego", "451", "--trajectory", str(tmp_path / "swerve.csv"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] < from_log["score"]


@pytest.mark.parametrize(("rows", "message"), [
    ([["0", "1", "2", "0"]], "missing column"),
    ([["0", "0", "0", "0", "1"], ["0.2", "1", "0", "0", "1"]], "steps of 0.1"),
    ([["0", "0", "0", "0", "1"], ["0.1", "nan", "0", "0", "1"]], "non-finite"),
])
def test_bad_trajectory_files_get_clear_errors(tmp_path, capsys, rows, message):
    path = tmp_path / "bad.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "x_m", "y_m", "heading_rad"] + ([] if len(rows[0]) == 4 else ["speed_mps"]))
        w.writerows(rows)
    assert main(["score", "--commonroad", str(US101_FILES[0]), "--trajectory", str(path)]) == 2
    assert message in capsys.readouterr().err
