"""km and autonomy rate of the warehouse's DWS against the simulator's exact integrals of the true speed
(``_truth/distance.parquet``): within 0.5 % per vehicle-day, per road type and for the fleet."""

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.slow
TOLERANCE = 0.005


@pytest.fixture(scope="module")
def truth(sim_fleet) -> pd.DataFrame:
    d = pd.read_parquet(sim_fleet.truth_dir / "distance.parquet")
    auto = d["drive_mode"] == "auto"
    return d.assign(dt=pd.to_datetime(d["dt"]).dt.date, km=d["distance_m"] / 1000,
                    km_auto=(d["distance_m"] / 1000).where(auto, 0.0), s=d["duration_s"],
                    s_auto=d["duration_s"].where(auto, 0.0))


def summed(truth: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    t = truth.groupby(keys)[["km", "km_auto", "s", "s_auto"]].sum().reset_index()
    return t.assign(rate_time=t["s_auto"] / t["s"], rate_km=t["km_auto"] / t["km"])


def warehouse(dbt_warehouse, table: str, keys: list[str]) -> pd.DataFrame:
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        w = con.execute(f"select {', '.join(keys)}, km_total, km_auto, operating_s, autonomy_rate_time, "
                        f"autonomy_rate_km from dws.{table}").df()
    return w.assign(dt=pd.to_datetime(w["dt"]).dt.date)


def relative_errors(t: pd.DataFrame, w: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    m = t.merge(w, on=keys, how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", keys + ["_merge"]].to_string()
    return pd.DataFrame({
        "km": m["km_total"] / m["km"] - 1,
        "km_auto": m["km_auto_y"] / m["km_auto_x"] - 1,
        "operating_time": m["operating_s"] / m["s"] - 1,
        "autonomy_rate_time": m["autonomy_rate_time"] / m["rate_time"] - 1,
        "autonomy_rate_km": m["autonomy_rate_km"] / m["rate_km"] - 1,
    }).set_index(pd.MultiIndex.from_frame(m[keys]))


@pytest.mark.parametrize(("table", "keys"), [
    ("dws_vehicle_1d", ["dt", "vehicle_id"]),
    ("dws_road_type_1d", ["dt", "road_type"]),
    ("dws_fleet_1d", ["dt"]),
])
def test_km_and_autonomy_rate_within_half_a_percent(truth, dbt_warehouse, table, keys):
    errors = relative_errors(summed(truth, keys), warehouse(dbt_warehouse, table, keys), keys)
    worst = errors.abs().max()
    assert (worst <= TOLERANCE).all(), (
        f"{table}: worst relative error\n{worst}\n{errors[errors.abs().max(axis=1) > TOLERANCE]}")


def test_autonomy_rate_by_road_type_within_half_a_percent(truth, dbt_warehouse):
    keys = ["dt", "road_type"]
    errors = relative_errors(summed(truth, keys), warehouse(dbt_warehouse, "dws_road_type_1d", keys), keys)
    assert (errors[["autonomy_rate_time", "autonomy_rate_km"]].abs().max() <= TOLERANCE).all(), errors
