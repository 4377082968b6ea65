"""Every injected event is detectable by the trigger semantics (thresholds from the seeds, per vehicle
class) and normal driving fires nothing: the reference detectors (``fleetloop.triggers``, written
independently from the brief) run on the clean raw rows and must find exactly the truth events."""

import json

import numpy as np
import pandas as pd
import pytest

from fleetloop.definitions import trigger_params
from fleetloop.triggers import discrete, heartbeat, planner, pose
from tests.fixtures.sim import clean_json_rows

US = 1_000_000
TOL_US = 1 * US
LATE = ("out_of_order",)  # a clean record delivered late: the loader keeps it, so it counts


@pytest.fixture(scope="module")
def truth(sim_fleet):
    events = pd.read_parquet(sim_fleet.truth_dir / "events.parquet")
    events["start_us"] = events["ts_start"].dt.as_unit("us").astype("int64")
    events["end_us"] = events["ts_end"].dt.as_unit("us").astype("int64")
    return events


@pytest.fixture(scope="module")
def classes(sim_fleet):
    return {v["vehicle_id"]: v["vehicle_class"] for v in sim_fleet.vehicles}


def _us(series: pd.Series) -> np.ndarray:
    return pd.to_datetime(series, utc=True).dt.as_unit("us").astype("int64").to_numpy()


def _match(truth: pd.DataFrame, found: list[tuple[str, int, int, str | None]], trigger: str, tiered: bool):
    """Truth and detections pair up one to one (per vehicle, times within TOL_US, same tier)."""
    expected = truth[truth["trigger"] == trigger]
    assert len(expected) >= 15, f"too few {trigger} truth events to test"
    unmatched = []
    remaining = list(found)
    for row in expected.itertuples():
        hit = [d for d in remaining if d[0] == row.vehicle_id and abs(d[1] - row.start_us) <= TOL_US
               and abs(d[2] - row.end_us) <= TOL_US]
        if len(hit) != 1 or (tiered and hit[0][3] != row.tier):
            unmatched.append((row.truth_id, row.tier, [(h[3]) for h in hit]))
            continue
        remaining.remove(hit[0])
    assert not unmatched, f"{trigger}: truth events not detected exactly once: {unmatched[:5]}"
    assert not remaining, f"{trigger}: detections without truth (false positives): {remaining[:5]}"


@pytest.mark.parametrize("trigger", ["hard_brake", "weaving", "stuck"])
def test_pose_triggers_match_truth(sim_clean, truth, classes, trigger):
    found = []
    for vid, g in sim_clean["pose"].groupby("vehicle_id", sort=True):
        ts = g["ts"].dt.as_unit("us").astype("int64").to_numpy()
        p = trigger_params(trigger, classes[vid])
        speed = g["speed_mps"].to_numpy()
        if trigger == "hard_brake":
            dets = pose.hard_brake(ts, speed, g["acc_lon_mps2"].to_numpy(), p)
        elif trigger == "weaving":
            dets = pose.weaving(ts, speed, g["yaw_rate_rps"].to_numpy(), g["heading_rad"].to_numpy(), p)
        else:
            dets = pose.stuck(ts, (g["task_status"] == "driving").to_numpy(), speed, g["x_m"].to_numpy(),
                              g["y_m"].to_numpy(), p)
        found += [(vid, d.start_us, d.end_us, d.tier) for d in dets]
    _match(truth, found, trigger, tiered=trigger != "weaving")


def test_hard_brake_tiers_and_causes_cover_the_design(truth):
    brakes = truth[truth["trigger"] == "hard_brake"]
    assert set(brakes["tier"]) == {"mild", "hard", "severe"}
    assert {"phantom_obstacle", "cut_in", "pedestrian_crossing"} <= set(brakes["cause"])
    stuck = truth[truth["trigger"] == "stuck"]
    assert set(stuck["tier"]) == {"trend", "problem"}


def test_planner_triggers_match_truth(sim_clean, truth):
    table = sim_clean["planner_debug"]
    vids = np.asarray(table.column("vehicle_id").to_numpy(zero_copy_only=False))
    ts = table.column("ts").cast("int64").to_numpy() * 1000
    scores = table.column("candidate_scores").combine_chunks()
    values, offsets = scores.values.to_numpy(), scores.offsets.to_numpy()
    cmd = table.column("commanded_steering_deg").to_numpy()
    flat_all = planner.flat_samples(values, offsets, trigger_params("uncertainty"))
    found_u, found_j = [], []
    bounds = np.flatnonzero(np.r_[True, vids[1:] != vids[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        vid = vids[a]
        found_u += [(vid, d.start_us, d.end_us, None)
                    for d in planner.uncertainty(ts[a:b], flat_all[a:b], trigger_params("uncertainty"))]
        found_j += [(vid, d.start_us, d.end_us, None)
                    for d in planner.output_jitter(ts[a:b], cmd[a:b], trigger_params("output_jitter"))]
    _match(truth, found_u, "uncertainty", tiered=False)
    _match(truth, found_j, "output_jitter", tiered=False)


def test_heartbeat_triggers_match_truth(sim_clean, truth, sim_fleet):
    hb = sim_clean["heartbeat"].assign(ts_us=lambda d: _us(d["ts"])).sort_values(["vehicle_id", "ts_us"])
    found = []
    for vid, g in hb.groupby("vehicle_id"):
        found += [(vid, d.start_us, d.end_us, None) for d in
                  heartbeat.offline(g["ts_us"].to_numpy(), g["task_status"].to_numpy(), trigger_params("offline"))]
    _match(truth, found, "offline", tiered=False)
    sites = heartbeat.site_anomaly(hb, trigger_params("site_anomaly"))
    expected = truth[truth["trigger"] == "site_anomaly"]
    assert len(expected) >= 15
    got = sorted(zip(sites["site_id"], sites["start_us"], sites["end_us"], strict=False))
    want = sorted(zip(expected["site_id"], expected["start_us"], expected["end_us"], strict=False))
    assert got == want


def test_discrete_triggers_match_truth(sim_fleet, truth):
    codes = clean_json_rows(sim_fleet, "error_code", keep=LATE).assign(ts_us=lambda d: _us(d["ts"]))
    codes = codes.drop_duplicates(["vehicle_id", "ts", "code"]).sort_values(["vehicle_id", "ts_us"])
    found = []
    for (vid, module), g in codes.groupby(["vehicle_id", "module"]):
        found += [(vid, d.start_us, d.end_us, None) for d in
                  discrete.error_burst(g["ts_us"].to_numpy(), g["code"].to_numpy(), module,
                                       trigger_params("error_burst"))]
    _match(truth, found, "error_burst", tiered=False)

    takeovers = clean_json_rows(sim_fleet, "takeover", keep=LATE).drop_duplicates("takeover_id")
    _match(truth, [(r.vehicle_id, _us(pd.Series([r.ts_start]))[0], _us(pd.Series([r.ts_end]))[0], None)
                   for r in takeovers.itertuples()], "takeover", tiered=False)
    calls = clean_json_rows(sim_fleet, "vehicle_call", keep=LATE).drop_duplicates(["vehicle_id", "ts", "call_type"])
    for call_type in ("call_driver", "call_guard"):
        rows = calls[calls["call_type"] == call_type]
        _match(truth, [(r.vehicle_id, t, t, None) for r, t in zip(rows.itertuples(), _us(rows["ts"]), strict=False)],
               call_type, tiered=False)
    notes = clean_json_rows(sim_fleet, "asr_note", keep=LATE).drop_duplicates(["vehicle_id", "ts", "operator_id"])
    tags = notes["text"].map(lambda t: discrete.keyword_tags(t)[0])
    hits = notes[tags.map(len) > 0]
    assert (tags.map(len) == 0).sum() > 0, "notes without keywords exist too"
    assert {"zh", "en"} <= {json.loads(a)["language"] for a in truth[truth["trigger"] == "asr_keyword"]["attributes"]}
    _match(truth, [(r.vehicle_id, t, t, None) for r, t in zip(hits.itertuples(), _us(hits["ts"]), strict=False)],
           "asr_keyword", tiered=False)
    expected_tags = truth[truth["trigger"] == "asr_keyword"].set_index("start_us")["attributes"].map(
        lambda a: sorted(json.loads(a)["tags"]))
    got_tags = pd.Series(list(tags[tags.map(len) > 0]), index=_us(hits["ts"]))
    assert (got_tags.sort_index().map(sorted).tolist() == expected_tags.sort_index().tolist())
