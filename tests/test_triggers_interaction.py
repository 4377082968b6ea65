"""The high-interaction reference triggers on hand-made 1 Hz summaries: each threshold exactly met fires, a hair
beyond it does not, and the merging of qualifying seconds into events."""

import pandas as pd
import pytest

from fleetloop.contract import COUNT_RADII_M, COUNTED_CLASSES
from fleetloop.definitions import trigger_params
from fleetloop.triggers.interaction import cut_in, dense_mixed_traffic, interaction_triggers, unprotected_left
from fleetloop.triggers.runs import US

EPS = 0.01


def summary(n: int, **columns) -> pd.DataFrame:
    """n consecutive seconds of an empty scene (no lead, no light, nothing counted); ``columns`` override."""
    frame = pd.DataFrame({"ts_us": [i * US for i in range(n)], "lead_class": [None] * n,
                          "lead_track_id": [None] * n, "lead_track_age_s": [float("nan")] * n,
                          "lead_gap_m": [float("nan")] * n, "lead_rel_speed_mps": [float("nan")] * n,
                          "speed_mps": [0.0] * n,
                          "oncoming_50m": [0] * n, "tl_distance_m": [float("nan")] * n, "yaw_rate_rps": [0.0] * n,
                          **{f"n_{c}_{r}m": [0] * n for c in COUNTED_CLASSES for r in COUNT_RADII_M}})
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_the_catalog_names_the_three_interaction_triggers():
    assert set(interaction_triggers()) == {"cut_in", "unprotected_left", "dense_mixed_traffic"}


# ---------------------------------------------------------------- cut_in

@pytest.fixture
def cut():
    return trigger_params("cut_in")


def cut_scene(p, *, gap=None, rel=1.0, ego_mps=10.0, age=None, new_id="b", prev_id=None, prev_gap=float("nan"),
              step_s=1):
    """Track ``new_id`` leads at the second second (``age`` s old, ``gap`` m ahead, ``rel`` m/s faster than the
    ego at ``ego_mps``); the lead of the first second was ``prev_id`` (none by default) at ``prev_gap``."""
    frame = summary(2, lead_class=[None if prev_id is None else "car", "car"], lead_track_id=[prev_id, new_id],
                    lead_track_age_s=[float("nan") if prev_id is None else 5.0,
                                      p["min_track_age_s"] if age is None else age],
                    lead_gap_m=[prev_gap, p["max_gap_m"] if gap is None else gap],
                    lead_rel_speed_mps=[float("nan") if prev_id is None else 0.0, rel], speed_mps=[ego_mps] * 2)
    frame["ts_us"] = [0, step_s * US]
    return frame


def ttc_scene(p, extra_m=0.0):
    """A lead closing at 10 m/s, farther than max_gap_m, exactly max_ttc_s (plus ``extra_m`` / 10 s) away."""
    gap = 10.0 * p["max_ttc_s"]
    assert gap > p["max_gap_m"]
    return cut_scene(p, gap=gap + extra_m, rel=-10.0, ego_mps=12.0)


def test_cut_in_fires_on_every_threshold_exactly_met(cut):
    found = cut_in(cut_scene(cut), cut)
    assert [(d.start_us, d.end_us) for d in found] == [(US, US)]
    assert found[0].attributes["lead_class"] == "car" and found[0].attributes["lead_track_id"] == "b"
    assert len(cut_in(ttc_scene(cut), cut)) == 1
    floor = cut["min_lead_speed_mps"] - 10.0  # the new lead moves at exactly the floor
    assert len(cut_in(cut_scene(cut, gap=5.0, rel=floor, ego_mps=10.0), cut)) == 1


@pytest.mark.parametrize("case", ["gap", "ttc", "young_track", "same_track", "not_closer", "crossing",
                                  "not_consecutive"])
def test_cut_in_does_not_fire_a_hair_beyond(cut, case):
    scene = {"gap": lambda: cut_scene(cut, gap=cut["max_gap_m"] + EPS),
             "ttc": lambda: ttc_scene(cut, extra_m=EPS),
             "young_track": lambda: cut_scene(cut, age=cut["min_track_age_s"] - EPS),
             "same_track": lambda: cut_scene(cut, prev_id="b", prev_gap=cut["max_gap_m"] + 5.0),
             "not_closer": lambda: cut_scene(cut, prev_id="a", prev_gap=cut["max_gap_m"]),
             "crossing": lambda: cut_scene(cut, gap=5.0, rel=cut["min_lead_speed_mps"] - EPS - 10.0),
             "not_consecutive": lambda: cut_scene(cut, step_s=2)}[case]()
    assert cut_in(scene, cut) == []


def test_cut_in_ahead_of_a_farther_lead(cut):
    assert len(cut_in(cut_scene(cut, prev_id="a", prev_gap=cut["max_gap_m"] + EPS), cut)) == 1


def test_cut_in_needs_the_pose_speed(cut):
    scene = cut_scene(cut)
    scene["speed_mps"] = float("nan")
    assert cut_in(scene, cut) == []


# ---------------------------------------------------------------- unprotected_left

@pytest.fixture
def left():
    return trigger_params("unprotected_left")


def left_scene(p, yaw, n=30, turning=range(15, 21)):
    """Oncoming traffic throughout; the ego turns at ``yaw`` rad/s in the ``turning`` seconds."""
    yaw_rates = [yaw if i in turning else 0.0 for i in range(n)]
    oncoming = [int(p["min_oncoming"])] * n
    return summary(n, yaw_rate_rps=yaw_rates, oncoming_50m=oncoming)


def test_unprotected_left_is_the_turn_with_oncoming_traffic(left):
    found = unprotected_left(left_scene(left, yaw=left["min_yaw_rate_rps"]), left)
    assert [(d.start_us // US, d.end_us // US) for d in found] == [(15, 20)]
    assert found[0].attributes == {"n_seconds": 6, "max_oncoming": int(left["min_oncoming"])}


def test_a_straight_pass_or_no_oncoming_is_no_unprotected_left(left):
    assert unprotected_left(left_scene(left, yaw=left["min_yaw_rate_rps"] - EPS), left) == []
    scene = left_scene(left, yaw=left["min_yaw_rate_rps"])
    scene["oncoming_50m"] = int(left["min_oncoming"]) - 1
    assert unprotected_left(scene, left) == []


def test_a_light_just_passed_makes_the_turn_protected(left):
    """A stop line closer than signal_near_m at second 15 + 2 - lookback: turning seconds 15..17 are within the
    lookback of it (protected), 18..20 are not."""
    scene = left_scene(left, yaw=left["min_yaw_rate_rps"])
    light = 17 - int(left["signal_lookback_s"])
    scene.loc[light, "tl_distance_m"] = left["signal_near_m"] - EPS
    assert [(d.start_us // US, d.end_us // US) for d in unprotected_left(scene, left)] == [(18, 20)]
    scene.loc[light, "tl_distance_m"] = left["signal_near_m"]  # not closer: unprotected again
    assert [(d.start_us // US, d.end_us // US) for d in unprotected_left(scene, left)] == [(15, 20)]


def test_unprotected_left_seconds_merge_within_max_gap(left):
    gap = int(left["max_gap_s"])
    merged = left_scene(left, left["min_yaw_rate_rps"], turning=[10, 10 + gap])
    assert [(d.start_us // US, d.end_us // US) for d in unprotected_left(merged, left)] == [(10, 10 + gap)]
    split = left_scene(left, left["min_yaw_rate_rps"], turning=[10, 11 + gap])
    assert len(unprotected_left(split, left)) == 2


# ---------------------------------------------------------------- dense_mixed_traffic

@pytest.fixture
def dense():
    return trigger_params("dense_mixed_traffic")


def dense_scene(p, vrus, vehicles, radius_m=None):
    """Seconds 3..7 crowded: ``vrus`` and ``vehicles`` are class names, one object each, within the radius."""
    radius = int(p["radius_m"] if radius_m is None else radius_m)
    crowded = [1 if 3 <= i <= 7 else 0 for i in range(10)]
    frame = summary(10)
    for c in [*vrus, *vehicles]:
        frame[f"n_{c}_{radius}m"] = frame[f"n_{c}_{radius}m"] + crowded
    return frame


def test_dense_mixed_traffic_needs_both_kinds_of_road_user(dense):
    n_vru, n_veh = int(dense["min_vru"]), int(dense["min_vehicles"])
    vrus = ["pedestrian", "cyclist", "tricycle", "scooter"] * n_vru
    vehicles = ["car", "truck", "bus"] * n_veh
    found = dense_mixed_traffic(dense_scene(dense, vrus[:n_vru], vehicles[:n_veh]), dense)
    assert [(d.start_us // US, d.end_us // US) for d in found] == [(3, 7)]
    assert found[0].attributes == {"n_seconds": 5, "max_vru": n_vru, "max_vehicles": n_veh}
    assert dense_mixed_traffic(dense_scene(dense, vrus[:n_vru - 1], vehicles[:n_veh]), dense) == []
    assert dense_mixed_traffic(dense_scene(dense, vrus[:n_vru], vehicles[:n_veh - 1]), dense) == []


def test_dense_mixed_traffic_counts_only_within_its_radius(dense):
    farther = min(r for r in COUNT_RADII_M if r > dense["radius_m"])
    vrus, vehicles = ["pedestrian"] * int(dense["min_vru"]), ["car"] * int(dense["min_vehicles"])
    assert dense_mixed_traffic(dense_scene(dense, vrus, vehicles, radius_m=farther), dense) == []
