"""The lake's ODS layout: Hive-partitioned Parquet per source-day, replaced atomically, loaded side by side."""

import datetime as dt
import json
import multiprocessing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fleetloop import lake
from fleetloop.contract import SOURCES
from fleetloop.ingest import connect, load_partition
from fleetloop.ingest.schema import BOOKKEEPING_COLUMNS, ods_columns
from tests.fixtures.ods import HAND_DAY, heartbeat_record, write_lines

BOOKKEEPING_FOLDERS = {"ods_quarantine": "_quarantine", "ods_reconciliation": "_reconciliation",
                       "ods_landing_manifest": "_landing_manifest", "ods_load_history": "_load_history"}
LOADED = ("heartbeat", "pose", "vehicle_call", "takeover")  # JSON with faults, Parquet, a one-liner, a quiet day
SPELLED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
MORE_LINES = [json.dumps(heartbeat_record(s)) for s in range(50, 60)]  # ten more clean heartbeats


def _pose(n: int) -> pa.Table:
    start = dt.datetime.combine(HAND_DAY, dt.time(9), dt.UTC)
    cols = {"ts": [start + dt.timedelta(seconds=0.1 * i) for i in range(n)], "vehicle_id": ["veh_a"] * n}
    for f in SOURCES["pose"].fields[2:]:
        cols[f.name] = {"DOUBLE": [1.0] * n, "BOOLEAN": [False] * n}.get(f.type, ["auto"] * n)
    return pa.table(cols | {"task_status": ["driving"] * n, "task_id": ["t"] * n, "route_id": ["r"] * n})


@pytest.fixture()
def landing(tmp_path) -> Path:
    """One day of four sources (a malformed line and a duplicate among the heartbeats) and a folder that is no
    source."""
    root = tmp_path / "landing"
    lines = [json.dumps(heartbeat_record(s)) for s in range(40)]
    lines[7], lines[12] = lines[6], lines[12][:25]
    write_lines(root, "heartbeat", HAND_DAY, "part-000.jsonl", lines)
    (root / "pose" / f"dt={HAND_DAY}").mkdir(parents=True)
    pq.write_table(_pose(300), root / "pose" / f"dt={HAND_DAY}" / "a.parquet")
    write_lines(root, "vehicle_call", HAND_DAY, "calls.jsonl", [json.dumps(
        {"ts": f"{HAND_DAY}T10:00:00Z", "vehicle_id": "veh_a", "call_type": "call_driver", "reason": "blocked"})])
    (root / "takeover" / f"dt={HAND_DAY}").mkdir(parents=True)
    (root / "lidar" / f"dt={HAND_DAY}").mkdir(parents=True)
    return root


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _rows(con, table: str) -> list[tuple]:
    """Every row of an ODS view without its load times (which differ between two loads of the same landing)."""
    stamp = "_loaded_at" if table.removeprefix("ods_") in SOURCES else "loaded_at"
    return sorted(con.execute(f"select * exclude ({stamp}) from ods.{table}").fetchall(), key=repr)


def _ods(lake_dir: Path) -> dict[str, list[tuple]]:
    with lake.session(lake_dir, ods=True) as con:
        return {t: _rows(con, t) for t in [SOURCES[s].ods_table for s in LOADED] + list(BOOKKEEPING_COLUMNS)}


def test_a_load_writes_one_hive_partition_per_table_with_dt_only_in_the_path(landing, tmp_path):
    lake_dir = tmp_path / "lake"
    load_partition(lake_dir, landing, "heartbeat", HAND_DAY)
    day = f"dt={HAND_DAY}"
    files = _files(lake_dir / "ods")
    history = [f for f in files if f.startswith("_load_history/")]
    assert len(history) == 1 and history[0].startswith(f"_load_history/{day}/heartbeat-")
    assert [f for f in files if f not in history] == sorted([
        f"heartbeat/{day}/part-0.parquet", f"_quarantine/{day}/heartbeat.parquet",
        f"_reconciliation/{day}/heartbeat.parquet", f"_landing_manifest/{day}/heartbeat.parquet",
        f"_landing_manifest/{day}/unknown_sources.parquet"])
    data = pq.read_table(lake_dir / "ods" / "heartbeat" / day / "part-0.parquet")
    assert data.column_names == [c for c, _ in ods_columns(SOURCES["heartbeat"]) if c != "dt"]
    assert data.num_rows == 38  # 40 lines, one malformed, one duplicate
    assert data.schema.field("ts").type == pa.timestamp("us", tz="UTC")  # plain Parquet: Spark reads it as is
    for table, folder in BOOKKEEPING_FOLDERS.items():
        (path,) = (lake_dir / "ods" / folder / day).glob("heartbeat*.parquet")
        assert pq.read_schema(path).names == [c for c, _ in BOOKKEEPING_COLUMNS[table] if c != "dt"], table
    unknown = pq.read_table(lake_dir / "ods" / "_landing_manifest" / day / "unknown_sources.parquet").to_pylist()
    assert [(r["source"], r["file_name"], r["outcome"]) for r in unknown] == \
        [("lidar", f"lidar/{day}", "unknown_source")]


def test_a_reload_replaces_the_partition(landing, tmp_path):
    lake_dir = tmp_path / "lake"
    first = load_partition(lake_dir, landing, "heartbeat", HAND_DAY)
    before = _ods(lake_dir)
    second = load_partition(lake_dir, landing, "heartbeat", HAND_DAY)
    after = _ods(lake_dir)
    assert (second.rows_loaded, second.rows_quarantined, second.rows_duplicate) == \
        (first.rows_loaded, first.rows_quarantined, first.rows_duplicate) == (38, 1, 1)
    assert {t: rows for t, rows in after.items() if t != "ods_load_history"} == \
        {t: rows for t, rows in before.items() if t != "ods_load_history"}  # nothing counted twice
    assert len(after["ods_load_history"]) == 2  # the history keeps every load
    write_lines(landing, "heartbeat", HAND_DAY, "part-001.jsonl", MORE_LINES)
    third = load_partition(lake_dir, landing, "heartbeat", HAND_DAY)
    assert third.rows_loaded == 48 and len(_ods(lake_dir)["ods_heartbeat"]) == 48
    assert not [p for p in (lake_dir / "ods").rglob("*") if p.name.startswith(".")]  # no temporary file left
    assert len(list((lake_dir / "ods" / "heartbeat" / f"dt={HAND_DAY}").iterdir())) == 1


def test_a_crash_before_the_replace_leaves_the_old_partition(landing, tmp_path, monkeypatch):
    lake_dir = tmp_path / "lake"
    load_partition(lake_dir, landing, "heartbeat", HAND_DAY)
    before, part = _ods(lake_dir), lake_dir / "ods" / "heartbeat" / f"dt={HAND_DAY}" / "part-0.parquet"
    old_bytes = part.read_bytes()
    write_lines(landing, "heartbeat", HAND_DAY, "part-001.jsonl", MORE_LINES)
    written = []
    copy = lake.Replacement.copy

    def crash_after_the_rows(self, con, select, target, params=None):
        copy(self, con, select, target, params)
        written.extend(p for p in target.parent.iterdir() if p.name.startswith("."))
        raise OSError("disk gone")

    monkeypatch.setattr(lake.Replacement, "copy", crash_after_the_rows)
    with pytest.raises(OSError, match="disk gone"):
        load_partition(lake_dir, landing, "heartbeat", HAND_DAY)
    assert written  # the new rows were on disk beside the old file
    assert part.read_bytes() == old_bytes and _ods(lake_dir) == before
    assert not [p for p in (lake_dir / "ods").rglob("*") if p.name.startswith(".")]


def _load_in_process(lake_dir: str, landing: str, source: str, start, results) -> None:
    start.wait()  # every load starts at once
    try:
        r = load_partition(Path(lake_dir), Path(landing), source, HAND_DAY)
        results.put((source, r.rows_loaded, None))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put((source, None, repr(exc)))


def test_loads_of_different_sources_run_in_parallel_processes(landing, tmp_path):
    sequential, parallel = tmp_path / "sequential", tmp_path / "parallel"
    expected = {s: load_partition(sequential, landing, s, HAND_DAY).rows_loaded for s in LOADED}
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(len(LOADED)), ctx.Queue()
    warehouse = tmp_path / "wh.duckdb"
    with connect(warehouse) as held:  # a writer holds the warehouse file all along: the loads never open it
        held.execute("create table busy as select 1")
        workers = [ctx.Process(target=_load_in_process, args=(str(parallel), str(landing), s, start, results))
                   for s in LOADED]
        for w in workers:
            w.start()
        outcomes = {source: (rows, error) for source, rows, error in (results.get(timeout=300) for _ in workers)}
        for w in workers:
            w.join(timeout=60)
    assert outcomes == {s: (expected[s], None) for s in LOADED}
    got, want = _ods(parallel), _ods(sequential)
    assert got == want and want["ods_pose"] and want["ods_landing_manifest"]
    assert sum(r[1] == "lidar" for r in got["ods_landing_manifest"]) == 1  # the unknown source once, not per load


def test_the_views_equal_the_parquet_files_read_with_pyarrow(landing, tmp_path):
    lake_dir = tmp_path / "lake"
    for s in LOADED:
        load_partition(lake_dir, landing, s, HAND_DAY)
    with connect(tmp_path / "wh.duckdb") as con:
        lake.attach_ods(con, lake_dir)
        for table, folder in [(SOURCES[s].ods_table, s) for s in LOADED] + list(BOOKKEEPING_FOLDERS.items()):
            arrow = pq.read_table(lake_dir / "ods" / folder, partitioning="hive")
            names = [r[0] for r in con.execute(f"describe ods.{table}").fetchall()]
            expected = sorted(([dt.date.fromisoformat(v) if c == "dt" else v for c, v in zip(names, row, strict=True)]
                               for row in zip(*(arrow.column(c).to_pylist() for c in names), strict=True)), key=repr)
            got = sorted((list(r) for r in con.execute(f"select * from ods.{table}").fetchall()), key=repr)
            assert got == expected and (got or folder == "takeover"), table  # takeover: a quiet day


def test_a_source_without_partitions_is_an_empty_typed_view(landing, tmp_path):
    lake_dir = tmp_path / "lake"
    load_partition(lake_dir, landing, "heartbeat", HAND_DAY)
    with connect(tmp_path / "wh.duckdb") as con:
        lake.attach_ods(con, lake_dir)
        for name in ("pose", "incident"):
            described = con.execute(f"describe ods.{SOURCES[name].ods_table}").fetchall()
            assert [(c, t) for c, t, *_ in described] == \
                [(c, SPELLED.get(t, t)) for c, t in ods_columns(SOURCES[name])]
            assert con.execute(f"select count(*) from ods.{SOURCES[name].ods_table}").fetchone()[0] == 0
        load_partition(lake_dir, landing, "pose", HAND_DAY)
        lake.attach_ods(con, lake_dir)  # the source's first partition: its view now reads the lake
        assert con.execute("select count(*) from ods.ods_pose where dt = ?", [HAND_DAY]).fetchone()[0] == 300
