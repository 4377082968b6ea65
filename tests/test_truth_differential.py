"""Differential test: the Python reference and the dbt warehouse agree event for event on a sample day of
the simulated fleet (same triggers, windows within one 10 Hz sample, same tier and severity), and build
the same cases (same case_ids, triggers and windows)."""

import json

import numpy as np
import pandas as pd
import pytest

from fleetloop.triggers.cases import build_cases, perception_suspect
from fleetloop.triggers.reference import detect_events
from fleetloop.warehouse import connect

pytestmark = pytest.mark.slow
ONE_SAMPLE = pd.Timedelta(milliseconds=100)


@pytest.fixture(scope="module")
def day(ods_warehouse):
    return ods_warehouse.days[0]


@pytest.fixture(scope="module")
def warehouse(dbt_warehouse):
    with connect(dbt_warehouse, read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def reference(warehouse, day) -> pd.DataFrame:
    return detect_events(warehouse, day)


@pytest.fixture(scope="module")
def dbt(warehouse, day) -> pd.DataFrame:
    return warehouse.execute("select * from dwd.dwd_event where dt = ?", [day]).df()


def keyed(events: pd.DataFrame) -> pd.DataFrame:
    subject = events["vehicle_id"].where(events["vehicle_id"].notna(), events["site_id"])
    tier = events["attributes"].map(lambda a: json.loads(a).get("tier"))
    out = pd.DataFrame({"trigger": events["trigger"], "subject": subject,
                        "ts_start": events["ts_start"].astype("datetime64[us, UTC]"),
                        "ts_end": events["ts_end"].astype("datetime64[us, UTC]"), "tier": tier,
                        "severity": events["severity"].astype(int)})
    return out.sort_values("ts_start").reset_index(drop=True)


def unpaired(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``left`` without a ``right`` event of the same trigger and subject starting within one sample,
    or whose end, tier or severity differ."""
    pairs = pd.merge_asof(left, right, on="ts_start", by=["trigger", "subject"], direction="nearest",
                          tolerance=ONE_SAMPLE, suffixes=("", "_other"))
    ok = ((pairs["ts_end"] - pairs["ts_end_other"]).abs() <= ONE_SAMPLE) & (
        pairs["tier"].fillna("") == pairs["tier_other"].fillna("")) & (pairs["severity"] == pairs["severity_other"])
    return pairs[~ok]


def test_sample_day_has_events_of_most_triggers(reference):
    assert reference["trigger"].nunique() >= 10, reference["trigger"].value_counts()


def test_reference_and_dbt_agree_event_for_event(reference, dbt):
    ref, wh = keyed(reference), keyed(dbt)
    assert ref.groupby("trigger").size().to_dict() == wh.groupby("trigger").size().to_dict()
    only_ref, only_dbt = unpaired(ref, wh), unpaired(wh, ref)
    assert only_ref.empty and only_dbt.empty, f"reference only:\n{only_ref.head(10)}\ndbt only:\n{only_dbt.head(10)}"


def test_event_ids_agree(reference, dbt):
    assert sorted(reference["event_id"]) == sorted(dbt["event_id"])


def test_cases_agree(warehouse, reference, day):
    ref = build_cases(reference)
    wh = warehouse.execute("select case_id, ts_start, ts_end, triggers, perception_suspect from dwd.dwd_case "
                           "where dt = ?", [day]).df()
    merged = ref.merge(wh, on="case_id", how="outer", suffixes=("", "_dbt"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", ["case_id", "_merge"]]
    assert (merged["ts_start"] == merged["ts_start_dbt"]).all() and (merged["ts_end"] == merged["ts_end_dbt"]).all()
    assert all(list(a) == list(b) for a, b in zip(merged["triggers"], merged["triggers_dbt"], strict=True))
    suspect = np.asarray(perception_suspect(warehouse, ref.set_index("case_id").loc[merged["case_id"]].reset_index()))
    assert (suspect == merged["perception_suspect"]).all()
