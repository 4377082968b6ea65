"""The high-interaction triggers against the simulator's scene truth and against their reference.

Truth: the runs of consecutive flagged seconds of ``_truth/scene_seconds.parquet`` (an injected scene's
seconds, and for dense traffic every second the real road users make dense), matched by vehicle and
overlapping window (``fleetloop.triggers.matching``). The dbt events and the reference's are the same events."""

import duckdb
import pandas as pd
import pytest

from fleetloop.triggers.interaction import interaction_triggers
from fleetloop.triggers.matching import match_events
from fleetloop.triggers.reference import detect_events

pytestmark = pytest.mark.slow
MIN_SCORE = 0.95
KEY = ["event_id", "vehicle_id", "site_id", "trigger", "ts_start", "ts_end", "severity"]


def utc_us(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: pd.to_datetime(frame[c], utc=True).astype("datetime64[us, UTC]")
                           for c in ("ts_start", "ts_end")})


@pytest.fixture(scope="module")
def truth_scenes(sim_fleet) -> pd.DataFrame:
    """One row per run of consecutive truth seconds of each interaction trigger."""
    kinds = interaction_triggers()
    with duckdb.connect() as con:
        frames = [con.execute(f"""
            select vehicle_id, '{kind}' as trigger, min(ts) as ts_start, max(ts) as ts_end
            from (select *, epoch(ts) - row_number() over (partition by vehicle_id order by ts) as run
                  from read_parquet('{sim_fleet.truth_dir}/scene_seconds.parquet') where {kind})
            group by vehicle_id, run""").df() for kind in kinds]
    return utc_us(pd.concat(frames, ignore_index=True))


@pytest.fixture(scope="module")
def dbt_events(dbt_warehouse) -> pd.DataFrame:
    with duckdb.connect(str(dbt_warehouse), read_only=True) as con:
        events = con.execute("select * from dwd.dwd_event where trigger in (select unnest(?))",
                             [interaction_triggers()]).df()
    return utc_us(events)


@pytest.fixture(scope="module")
def reference_events(ods_warehouse) -> pd.DataFrame:
    with ods_warehouse.connect() as con:
        events = pd.concat([detect_events(con, day) for day in ods_warehouse.days], ignore_index=True)
    return utc_us(events[events["trigger"].isin(interaction_triggers())])


@pytest.mark.parametrize("trigger", interaction_triggers())
def test_precision_and_recall_against_the_scene_truth(dbt_events, truth_scenes, trigger):
    m = match_events(dbt_events, truth_scenes, trigger)
    print(m)
    assert m.truth >= 10, f"the test fleet has too few true {trigger} scenes: {m.truth}"
    assert m.precision >= MIN_SCORE and m.recall >= MIN_SCORE, (
        f"{m}\nfalse positives:\n{m.false_positives.head(10).to_string()}\nmissed:\n{m.missed.head(10).to_string()}")


def test_dbt_and_reference_find_the_same_events(dbt_events, reference_events):
    dbt = dbt_events[KEY].sort_values(KEY).reset_index(drop=True)
    ref = reference_events[KEY].sort_values(KEY).reset_index(drop=True)
    assert set(dbt["trigger"]) == set(interaction_triggers())
    pd.testing.assert_frame_equal(dbt, ref, check_dtype=False)
