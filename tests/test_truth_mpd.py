"""MPD on the simulated fleet: the no-contact rider fall counts in MPD_all and MPD_resp, and the daily
counts equal the truth incidents classified by DOMAIN.md's definition of dangerous (an independent
classification, not the warehouse's)."""

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.slow
# DOMAIN.md section 2: contact, property damage, public safety complaints, severe near-misses and the rider
# who falls evading us count as dangerous; so does anything police-attended or with an injury.
DANGEROUS_CATEGORIES = {"collision_vehicle", "collision_vru", "collision_static", "property_damage",
                        "vru_fall_no_contact", "severe_near_miss", "public_safety_complaint"}


@pytest.fixture(scope="module")
def truth_incidents(sim_fleet) -> pd.DataFrame:
    inc = pd.read_parquet(sim_fleet.truth_dir / "incidents.parquet")
    dangerous = inc["category"].isin(DANGEROUS_CATEGORIES) | inc["police_report"] | inc["injury"]
    return inc.assign(dt=inc["ts"].dt.tz_convert("UTC").dt.date, dangerous=dangerous,
                      responsible=dangerous & (inc["at_fault"] == "ours"))


@pytest.fixture(scope="module")
def warehouse(dbt_warehouse):
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        yield con


def test_rider_fall_without_contact_is_dangerous_and_ours(truth_incidents, warehouse):
    falls = truth_incidents[truth_incidents["category"] == "vru_fall_no_contact"]
    assert len(falls) >= 1, "the test fleet has no vru_fall_no_contact incident"
    rows = warehouse.execute(
        "select incident_id, is_dangerous, is_dangerous_responsible from dwd.dwd_incident "
        "where incident_id in (select unnest(?::varchar[]))", [falls["incident_id"].tolist()]).df()
    assert sorted(rows["incident_id"]) == sorted(falls["incident_id"])
    assert rows["is_dangerous"].all()
    ours = set(falls.loc[falls["at_fault"] == "ours", "incident_id"])
    assert set(rows.loc[rows["is_dangerous_responsible"], "incident_id"]) == ours
    assert ours, "no rider fall is at fault ours: MPD_resp would not see one"


def test_daily_mpd_counts_equal_the_truth(truth_incidents, warehouse):
    expected = truth_incidents.groupby("dt")[["dangerous", "responsible"]].sum()
    ads = warehouse.execute("select dt, n_mpd_all, n_mpd_resp from ads.ads_fleet_overview_1d").df()
    ads["dt"] = pd.to_datetime(ads["dt"]).dt.date
    got = ads.set_index("dt").reindex(expected.index)
    assert got["n_mpd_all"].tolist() == expected["dangerous"].tolist()
    assert got["n_mpd_resp"].tolist() == expected["responsible"].tolist()


def test_mpd_rate_uses_the_days_km(warehouse):
    rows = warehouse.execute(
        "select n_mpd_all, exposure_km, mpd_all_per_10k_km, mpd_all_ci_low, mpd_all_ci_high "
        "from ads.ads_fleet_overview_1d").df()
    assert (rows["exposure_km"] > 0).all()
    pd.testing.assert_series_equal(rows["mpd_all_per_10k_km"], rows["n_mpd_all"] / rows["exposure_km"] * 1e4,
                                   check_names=False)
    assert ((rows["mpd_all_ci_low"] <= rows["mpd_all_per_10k_km"])
            & (rows["mpd_all_per_10k_km"] <= rows["mpd_all_ci_high"])).all()
