"""Every trigger against the simulator's ground truth, for both the dbt warehouse (``dwd.dwd_event``) and
the Python reference: precision and recall >= 0.95 (match by vehicle, or site for site_anomaly, and
overlapping window), and the tiers of matched hard brakes and stuck events agree with the truth. Cases:
a hard brake caused by a phantom obstacle asks for raw upload; cut-ins and crossings go to the scorer."""

import json

import duckdb
import pandas as pd
import pytest

from fleetloop.definitions import triggers
from fleetloop.triggers.cases import build_cases, perception_suspect
from fleetloop.triggers.interaction import interaction_triggers
from fleetloop.triggers.matching import match_events
from fleetloop.triggers.reference import detect_events

pytestmark = pytest.mark.slow
MIN_SCORE = 0.95


def utc_us(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: frame[c].astype("datetime64[us, UTC]") for c in ("ts_start", "ts_end")})


@pytest.fixture(scope="module")
def truth_events(sim_fleet) -> pd.DataFrame:
    return utc_us(pd.read_parquet(sim_fleet.truth_dir / "events.parquet"))


@pytest.fixture(scope="module")
def reference_events(ods_warehouse) -> pd.DataFrame:
    with ods_warehouse.connect() as con:
        return utc_us(pd.concat([detect_events(con, day) for day in ods_warehouse.days], ignore_index=True))


@pytest.fixture(scope="module")
def dbt_events(dbt_warehouse) -> pd.DataFrame:
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        return utc_us(con.execute("select * exclude (tier), attributes ->> 'tier' as tier from dwd.dwd_event").df())


def found_events(request, implementation: str) -> pd.DataFrame:
    return request.getfixturevalue(f"{implementation}_events")


# the high-interaction triggers are measured against the scene truth (tests/test_truth_interaction.py)
@pytest.mark.parametrize("trigger", [t for t in triggers() if t not in interaction_triggers()])
@pytest.mark.parametrize("implementation", ["dbt", "reference"])
def test_precision_and_recall_against_truth(request, truth_events, implementation, trigger):
    m = match_events(found_events(request, implementation), truth_events, trigger)
    assert m.truth > 0, f"the test fleet has no true {trigger} events: nothing to measure"
    assert m.precision >= MIN_SCORE and m.recall >= MIN_SCORE, (
        f"{implementation} {m}\nfalse positives:\n{m.false_positives.head(10).to_string()}\n"
        f"missed:\n{m.missed.head(10).to_string()}")


def tier_of(frame: pd.DataFrame) -> pd.Series:
    if "tier" in frame:
        return frame["tier"]
    return frame["attributes"].map(lambda a: json.loads(a).get("tier"))


@pytest.mark.parametrize("trigger", ["hard_brake", "stuck"])
@pytest.mark.parametrize("implementation", ["dbt", "reference"])
def test_tiers_agree_with_truth(request, truth_events, implementation, trigger):
    found = found_events(request, implementation)
    found = found[found["trigger"] == trigger].assign(found_tier=lambda f: tier_of(f))
    truth = truth_events[truth_events["trigger"] == trigger]
    pairs = found.merge(truth, on="vehicle_id", suffixes=("", "_truth"))
    pairs = pairs[(pairs["ts_start"] <= pairs["ts_end_truth"]) & (pairs["ts_end"] >= pairs["ts_start_truth"])]
    assert len(pairs) >= 0.95 * len(truth)
    agree = (pairs["found_tier"] == pairs["tier"]).mean()
    assert agree >= MIN_SCORE, pairs.loc[pairs["found_tier"] != pairs["tier"],
                                         ["vehicle_id", "ts_start", "found_tier", "tier"]].head(10).to_string()


@pytest.fixture(scope="module")
def truth_brakes(truth_events) -> pd.DataFrame:
    t = truth_events[truth_events["trigger"] == "hard_brake"]
    return t.assign(phantom=t["cause"] == "phantom_obstacle")[["vehicle_id", "ts_start", "ts_end", "phantom"]]


@pytest.fixture(scope="module")
def dbt_cases(dbt_warehouse) -> pd.DataFrame:
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        return con.execute("select vehicle_id, ts_start, ts_end, perception_suspect from dwd.dwd_case").df()


@pytest.fixture(scope="module")
def reference_cases(ods_warehouse, reference_events) -> pd.DataFrame:
    cases = build_cases(reference_events)
    with ods_warehouse.connect() as con:
        return cases.assign(perception_suspect=perception_suspect(con, cases).to_numpy())


@pytest.mark.parametrize("implementation", ["dbt", "reference"])
def test_phantom_brakes_route_to_raw_upload(request, truth_brakes, implementation):
    cases = utc_us(request.getfixturevalue(f"{implementation}_cases"))
    m = truth_brakes.merge(cases, on="vehicle_id", suffixes=("", "_case"))
    m = m[(m["ts_start"] >= m["ts_start_case"]) & (m["ts_end"] <= m["ts_end_case"])]
    assert len(m) >= MIN_SCORE * len(truth_brakes) and m["phantom"].any() and (~m["phantom"]).any()
    recall = m.loc[m["phantom"], "perception_suspect"].mean()
    precision = m.loc[m["perception_suspect"], "phantom"].mean()
    assert recall >= MIN_SCORE and precision >= MIN_SCORE, pd.crosstab(m["phantom"], m["perception_suspect"])
