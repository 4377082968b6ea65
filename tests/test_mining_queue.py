"""``fleetloop mine --to-queue`` on a real small installation: the published tag store finds clips, the working
warehouse gets them as mined cases after the day's triggered ones, the nightly scorer replays them (a late hard
brake is improved as a scene, a free road is the log's best, a raw-upload clip becomes a raw request of its own
length), and queueing the same query again replaces its cases instead of adding them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fleetloop.ingest.schema import ddl
from fleetloop.mining.cli import WAREHOUSE_STORE
from fleetloop.mining.features import FEATURE_COLUMNS, create_feature_table_sql
from fleetloop.mining.queue import MINED_TABLE, case_queue_sql
from fleetloop.mining.store import build_tag_store
from fleetloop.mining.tags import load_tags
from fleetloop.scorer.nightly import NightlyConfig, run_nightly
from fleetloop.scorer.routing import RAW_SENSOR_BYTES_PER_S
from fleetloop.settings import Settings
from fleetloop.warehouse import connect
from fleetloop_shell.cli import main
from tests.test_mining_store import NEUTRAL
from tests.test_scorer_nightly import DAY, DT, SITE, T0, _insert_case, _speeds

SCENE = "night and rain and junction and pedestrian_near"
RAW_SCENE = "night and rain and not junction"
WINDOW = 160  # 16 s of pose at 10 Hz per vehicle
MATCH_S = range(9, 13)  # seconds after T0 where a vehicle's scene holds; padding 2 s: clips T0+7 .. T0+14
CLIP_START = T0 + dt.timedelta(seconds=7)
CLIP_SECONDS = 8
QUEUE_DDL = (
    "create table ads.ads_case_queue (case_id varchar, dt date, vehicle_id varchar, site_id varchar, "
    "vehicle_class varchar, ts_start timestamptz, ts_end timestamptz, triggers varchar[], replay_triggers varchar[], "
    "ops_triggers varchar[], n_events bigint, severity integer, uncertainty double, priority double, "
    "queue_rank bigint, perception_suspect boolean, action varchar, reason varchar)")


def _feature_rows(vehicle: str, scene: dict) -> list[dict]:
    """16 s of plain seconds on the site, with ``scene`` holding in ``MATCH_S``."""
    t0 = int(T0.timestamp())
    return [NEUTRAL | {"vehicle_id": vehicle, "site_id": SITE, "ts_s": t0 + i} | (scene if i in MATCH_S else {})
            for i in range(WINDOW // 10)]


@pytest.fixture
def home(tmp_path):
    """Working warehouse: ODS pose and perception of four vehicles, one triggered case (t1); published file: the
    tag store of the three vehicles m1 (a late hard brake), m2 (a free road), m3 (rain at night, no junction)."""
    settings = Settings.for_home(tmp_path)
    with connect(settings.warehouse, settings) as con:
        for stmt in ddl():
            con.execute(stmt)
        con.execute("create schema ads")
        con.execute(QUEUE_DDL)
        _insert_case(con, "t1", T0, np.full(WINDOW, 16.7), 400.0, None, "counterfactual", 1)
        # the scene of test_scorer_nightly's v1: cruising at 10 m/s, braking late and hard for a stopped car
        hard = np.concatenate([np.full(70, 10.0), _speeds(10.0, -6.5, 31.8, WINDOW - 70)])
        _insert_case(con, "m1", T0, hard, 200.0, 200.0 + 70 * DT * 10.0 + 45.0, "counterfactual", 0)
        _insert_case(con, "m2", T0, np.full(WINDOW, 16.7), 600.0, None, "counterfactual", 0)
        _insert_case(con, "m3", T0, np.full(WINDOW, 8.0), 800.0, None, "counterfactual", 0)
        con.execute("delete from ads.ads_case_queue where vehicle_id like 'm%'")  # their pose, not a trigger
    scene = {"light": "night", "weather": "rain", "in_junction": True, "n_pedestrian_10m": 1, "n_pedestrian_30m": 1,
             "n_pedestrian_50m": 1}
    rows = (_feature_rows("m1", scene) + _feature_rows("m2", scene)
            + _feature_rows("m3", scene | {"in_junction": False, "n_pedestrian_10m": 0}))
    with connect(settings.published, settings) as con:
        con.execute(create_feature_table_sql("features"))
        frame = pd.DataFrame(rows, columns=[c.name for c in FEATURE_COLUMNS])  # noqa: F841 (read by DuckDB)
        con.execute("insert into features by name select * from frame")
        con.execute("create schema dwd")
        build_tag_store(con, load_tags(), "features", WAREHOUSE_STORE)
    return tmp_path


def _mined(settings: Settings) -> list[tuple]:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(f"select case_id, vehicle_id, action, triggers, ts_start, ts_end, mined_rank "
                           f"from {MINED_TABLE} order by vehicle_id").fetchall()


def test_mined_cases_are_queued_after_the_triggered_ones_and_replayed(home, tmp_path, capsys):
    settings = Settings.for_home(home)
    assert main(["--home", str(home), "mine", SCENE, "--to-queue"]) == 0
    assert "queued 2 mined cases (counterfactual)" in capsys.readouterr().out
    assert main(["--home", str(home), "mine", RAW_SCENE, "--to-queue", "--action", "raw_upload"]) == 0
    mined = _mined(settings)
    assert [(m[1], m[2], m[3]) for m in mined] == [("m1", "counterfactual", [f"mined:{SCENE}"]),
                                                  ("m2", "counterfactual", [f"mined:{SCENE}"]),
                                                  ("m3", "raw_upload", [f"mined:{RAW_SCENE}"])]
    assert all(m[0].startswith("mined_") for m in mined) and len({m[0] for m in mined}) == 3
    assert {(m[4], m[5]) for m in mined} == {(CLIP_START, CLIP_START + dt.timedelta(seconds=CLIP_SECONDS))}
    ids = {m[1]: m[0] for m in mined}
    with connect(settings.warehouse) as con:
        ranks = dict(con.execute(f"select vehicle_id, queue_rank from {case_queue_sql(con)}").fetchall())
        assert ranks["t1"] == 1 and sorted(ranks[v] for v in ("m1", "m2", "m3")) == [2, 3, 4]
        tables = run_nightly(con, DAY, tmp_path / "packages", NightlyConfig(top_k=10, seed=5, robustness_variants=0))
    sols = {r["vehicle_id"]: r for r in tables["solutions"]}
    assert set(sols) == {"t1", "m1", "m2"}
    m1, m2 = sols["m1"], sols["m2"]
    assert m1["case_id"] == ids["m1"] and m1["status"] == "improved" and m1["queue_rank"] == ranks["m1"]
    assert m1["resolved_trigger"] == f"mined:{SCENE}" and m1["resolved_by"] == "component_fix"
    assert m1["log_tier"] >= 1 and m1["sol_tier"] < m1["log_tier"] and m1["sol_c"] > m1["log_c"]
    assert (tmp_path / "packages" / f"dt={DAY}" / f"{ids['m1']}.sspair").is_file()
    assert m2["status"] == "log_best" and "the log fails no safety, comfort or compliance component" in m2["reason"]
    assert sols["t1"]["status"] == "log_best"
    assert [(r["case_id"], r["est_bytes"]) for r in tables["raw_upload_requests"]] == [
        (ids["m3"], CLIP_SECONDS * RAW_SENSOR_BYTES_PER_S)]
    assert {p["case_id"] for p in tables["upload_plan"]} == {ids["m1"], ids["m3"]}


def test_queueing_the_same_query_again_replaces_its_cases(home, capsys):
    settings = Settings.for_home(home)
    mine = ["--home", str(home), "mine", SCENE, "--to-queue"]
    assert main(mine) == 0
    first = _mined(settings)
    assert main(mine) == 0
    assert _mined(settings) == first and len(first) == 2
    assert main(mine + ["--action", "raw_upload"]) == 0  # the same cases, now asking for the raw window
    assert [(m[0], m[2]) for m in _mined(settings)] == [(m[0], "raw_upload") for m in first]
    # mined from the working file itself (one connection), with a whitespace-only difference: still the same cases
    with connect(settings.published, read_only=True) as src, connect(settings.warehouse) as dst:
        dst.execute("create schema dwd")
        for table in (WAREHOUSE_STORE.table, WAREHOUSE_STORE.map_table, WAREHOUSE_STORE.span_table,
                      WAREHOUSE_STORE.run_table):
            frame = src.execute(f"select * from {table}").df()  # noqa: F841 (read by DuckDB)
            dst.execute(f"create table {table} as select * from frame")
    assert main(["--home", str(home), "mine", SCENE.replace(" and ", "  and "), "--to-queue", "--warehouse",
                 str(settings.warehouse)]) == 0
    assert [m[0] for m in _mined(settings)] == [m[0] for m in first]
    # the same query with other clips (no padding): its old cases are replaced, not kept beside the new ones
    assert main(mine + ["--padding-s", "0"]) == 0
    unpadded = _mined(settings)
    assert len(unpadded) == 2 and not {m[0] for m in unpadded} & {m[0] for m in first}
    assert {(m[4], m[5]) for m in unpadded} == {(T0 + dt.timedelta(seconds=MATCH_S[0]),
                                                 T0 + dt.timedelta(seconds=MATCH_S[-1] + 1))}
    capsys.readouterr()
    # a triggered case added to the day later: the mined ones still follow every triggered case
    with connect(settings.warehouse) as con:
        con.execute("insert into ads.ads_case_queue select * replace ('t2' as case_id, 2::bigint as queue_rank) "
                    "from ads.ads_case_queue where case_id = 'case_t1'")
        ranks = sorted(r[0] for r in con.execute(f"select queue_rank from {case_queue_sql(con)}").fetchall())
    assert ranks == [1, 2, 3, 4]
