"""The loader's promises under inputs the simulator never writes: every file read or reported, literal file
names, missing days refused, poison values and corrupt files quarantined alone, strict JSON, one line rule."""

import datetime as dt
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dagster_pipelines.checks.reconciliation import build_reconciliation_check
from dagster_pipelines.ods.assets import build_ods_asset
from dagster_pipelines.partitions import daily_partitions
from dagster_pipelines.resources import WarehouseResource
from fleetloop import lake
from fleetloop.contract import MAX_SPEED_MPS, SOURCES, source
from fleetloop.ingest import connect
from fleetloop.ingest.rules import KMH_FACTOR
from fleetloop.paths import MissingPartitionError
from fleetloop.reconciliation import ACCEPT_ROW_DROP_FLAG, ACCEPT_ROW_DROP_TAG, row_drops
from fleetloop.settings import Settings
from tests.fixtures.ods import HAND_DAY, heartbeat_record, load, write_lines

BASE = f"dt={HAND_DAY}"


def _j(rec: dict) -> str:
    return json.dumps(rec)


@pytest.fixture()
def con(tmp_path):
    c = connect(tmp_path / "wh.duckdb")
    yield c
    c.close()


def _codes(con, source: str) -> dict[tuple[str, int], str]:
    rows = con.execute("select source_file, line_number, reason_code from ods.ods_quarantine where source = ?",
                       [source]).fetchall()
    return {(f.rsplit("/", 1)[-1], n): code for f, n, code in rows}


def _loaded_lines(con, table: str) -> list[tuple[str, int]]:
    return [(f.rsplit("/", 1)[-1], n) for f, n in
            con.execute(f"select _source_file, _line_number from ods.{table} order by 1, 2").fetchall()]


# -- finding 1: a missing day folder --------------------------------------------------------------------------

def test_a_missing_day_folder_is_refused_and_the_loaded_day_stays(con, tmp_path):
    root = tmp_path / "landing"
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", [_j(heartbeat_record(s)) for s in range(5)])
    load(con, root, "heartbeat", HAND_DAY)
    shutil.rmtree(root / "heartbeat")  # the landing disk is not mounted
    with pytest.raises(MissingPartitionError, match=f"heartbeat/{BASE}"):
        load(con, root, "heartbeat", HAND_DAY)
    assert con.execute("select count(*) from ods.ods_heartbeat").fetchone()[0] == 5
    assert con.execute("select rows_read from ods.ods_reconciliation").fetchall() == [(5,)]
    (root / "heartbeat" / BASE).mkdir(parents=True)  # an existing, empty folder is an empty day
    assert load(con, root, "heartbeat", HAND_DAY).rows_read == 0


# -- finding 2: file names are never patterns ------------------------------------------------------------------

GLOB_NAMES = ["a.parquet", "b.parquet", "*.parquet", "[ab].parquet", "?.parquet", "{a,b}.parquet", "x[1].parquet"]


def _pose_rows(first_s: int, n: int) -> pa.Table:
    start = dt.datetime.combine(HAND_DAY, dt.time(9), dt.UTC) + dt.timedelta(seconds=first_s)
    cols = {"ts": [start + dt.timedelta(seconds=0.1 * i) for i in range(n)], "vehicle_id": ["veh_a"] * n}
    for f in SOURCES["pose"].fields[2:]:
        cols[f.name] = {"DOUBLE": [1.0] * n, "BOOLEAN": [False] * n}.get(f.type, ["auto"] * n)
    cols |= {"task_status": ["driving"] * n, "task_id": ["t"] * n, "route_id": ["r"] * n}
    return pa.table(cols)


def test_file_names_with_glob_characters_are_read_literally(con, tmp_path):
    root = tmp_path / "landing"
    folder = root / "pose" / BASE
    folder.mkdir(parents=True)
    for i, name in enumerate(GLOB_NAMES):
        pq.write_table(_pose_rows(100 * i, i + 1), folder / name)  # file i holds i + 1 rows of its own
    r = load(con, root, "pose", HAND_DAY)
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_unaccounted) == (28, 28, 0, 0)
    per_file = dict(con.execute("select _source_file, count(*) from ods.ods_pose group by 1").fetchall())
    assert per_file == {f"pose/{BASE}/{name}": i + 1 for i, name in enumerate(GLOB_NAMES)}


# -- finding 3: poison values, corrupt pages, reader columns -------------------------------------------------

def test_poison_timestamps_quarantine_their_row_not_the_day(con, tmp_path):
    root = tmp_path / "landing"
    lines = [_j(heartbeat_record(0)), '{"ts": NaN}', '{"ts": 1e300}', '{"ts": -1e30}', _j(heartbeat_record(4))]
    lines[1:4] = [_j(heartbeat_record(i)).replace(f'"{heartbeat_record(i)["ts"]}"', v)
                  for i, v in ((1, "NaN"), (2, "1e300"), (3, "-1e30"))]
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", lines)
    cols = _pose_rows(0, 3).to_pydict()
    cols["ts"] = [dt.datetime.combine(HAND_DAY, dt.time(9), dt.UTC).timestamp(), float("nan"), 1e300]
    (root / "pose" / BASE).mkdir(parents=True)
    pq.write_table(pa.table(cols), root / "pose" / BASE / "epoch.parquet")
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.rows_loaded, r.rows_quarantined, r.rows_unaccounted) == (2, 3, 0)
    assert _codes(con, "heartbeat") == {("a.jsonl", 2): "non_finite", ("a.jsonl", 3): "wrong_type",
                                        ("a.jsonl", 4): "wrong_type"}
    r = load(con, root, "pose", HAND_DAY)
    assert (r.rows_loaded, r.rows_quarantined, r.rows_unaccounted) == (1, 2, 0)
    assert _codes(con, "pose") == {("epoch.parquet", 2): "non_finite", ("epoch.parquet", 3): "wrong_type"}


def _corrupt_pages(path: Path) -> None:
    """Flip bytes inside the data pages, keeping the footer (last 4 KB) intact."""
    data = bytearray(path.read_bytes())
    for offset in range(64, len(data) - 4096, 499):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_parquet_file_with_corrupt_pages_quarantines_itself(con, tmp_path):
    root = tmp_path / "landing"
    folder = root / "pose" / BASE
    folder.mkdir(parents=True)
    pq.write_table(_pose_rows(0, 10), folder / "good.parquet")
    n = 50_000
    pq.write_table(_pose_rows(3600, n), folder / "bad.parquet", compression="snappy")
    _corrupt_pages(folder / "bad.parquet")
    assert pq.ParquetFile(folder / "bad.parquet").metadata.num_rows == n  # the footer still reads
    r = load(con, root, "pose", HAND_DAY)
    assert (r.rows_read, r.rows_loaded, r.rows_unaccounted, r.files_quarantined) == (10, 10, 0, 1)
    (file, code, reason, scope), = con.execute(
        "select source_file, reason_code, reason, scope from ods.ods_quarantine").fetchall()
    assert (file, code, scope) == (f"pose/{BASE}/bad.parquet", "unreadable_file", "file")
    assert "bad.parquet" in reason and "decoded" in reason
    assert con.execute("select outcome, rows_read from ods.ods_landing_manifest where file_name like '%bad%'"
                       ).fetchall() == [("quarantined", 0)]


def test_data_columns_named_like_reader_columns_do_not_collide(con, tmp_path):
    root = tmp_path / "landing"
    folder = root / "pose" / BASE
    folder.mkdir(parents=True)
    table = _pose_rows(0, 4)
    for name in ("filename", "file_row_number", "file_index"):
        table = table.append_column(name, pa.array([99] * 4))
    pq.write_table(table, folder / "odd.parquet")
    pq.write_table(_pose_rows(60, 2), folder / "plain.parquet")
    r = load(con, root, "pose", HAND_DAY)
    assert (r.rows_loaded, r.rows_unaccounted) == (6, 0)
    assert _loaded_lines(con, "ods_pose") == [("odd.parquet", n) for n in (1, 2, 3, 4)] + \
        [("plain.parquet", 1), ("plain.parquet", 2)]


# -- finding 4: every file read or reported ----------------------------------------------------------------

def test_every_file_and_folder_is_read_or_reported_in_the_manifest(con, tmp_path):
    root = tmp_path / "landing"
    day = root / "heartbeat" / BASE
    write_lines(root, "heartbeat", HAND_DAY, "PART-001.JSONL", [_j(heartbeat_record(0))])
    (day / "gz-named-plain.jsonl").write_bytes(gzip.compress((_j(heartbeat_record(1)) + "\n").encode()))
    write_lines(root, "heartbeat", HAND_DAY, "part-002.ndjson", [_j(heartbeat_record(2))])
    write_lines(root, "heartbeat", HAND_DAY, ".part-003.jsonl", [_j(heartbeat_record(3))])
    (day / "sub").mkdir()
    (day / "sub" / "part-004.jsonl").write_text(_j(heartbeat_record(4)) + "\n")
    (root / "heartbeat" / "dt=2026-13-45").mkdir()
    write_lines(root, "heartbeats", HAND_DAY, "part-000.jsonl", [_j(heartbeat_record(5))])
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.files, r.rows_read, r.rows_loaded) == (2, 2, 2)
    manifest = {name: (source, outcome, rows, size, sha) for name, source, outcome, rows, size, sha in con.execute(
        "select file_name, source, outcome, rows_read, size_bytes, sha256 from ods.ods_landing_manifest").fetchall()}
    h = f"heartbeat/{BASE}"
    assert {n: m[:3] for n, m in manifest.items()} == {
        f"{h}/PART-001.JSONL": ("heartbeat", "read", 1), f"{h}/gz-named-plain.jsonl": ("heartbeat", "read", 1),
        f"{h}/part-002.ndjson": ("heartbeat", "unknown_file", None),
        f"{h}/.part-003.jsonl": ("heartbeat", "unknown_file", None),
        f"{h}/sub": ("heartbeat", "unknown_folder", None),
        f"{h}/sub/part-004.jsonl": ("heartbeat", "unknown_file", None),
        "heartbeat/dt=2026-13-45": ("heartbeat", "unknown_folder", None),
        f"heartbeats/{BASE}": ("heartbeats", "unknown_source", None),
    }
    gz = day / "gz-named-plain.jsonl"
    assert manifest[f"{h}/gz-named-plain.jsonl"][3:] == (gz.stat().st_size, hashlib.sha256(gz.read_bytes()).hexdigest())
    reasons = dict(con.execute("select file_name, reason from ods.ods_landing_manifest").fetchall())
    assert "case" in reasons[f"{h}/PART-001.JSONL"] and "gzip" in reasons[f"{h}/gz-named-plain.jsonl"]
    load(con, root, "heartbeat", HAND_DAY)  # a reload replaces the day's manifest
    assert con.execute("select count(*) from ods.ods_landing_manifest").fetchone()[0] == len(manifest)


# -- row-drop bookkeeping ----------------------------------------------------------------------------------

def test_a_reload_reading_far_fewer_rows_is_a_row_drop_until_confirmed(con, tmp_path):
    root = tmp_path / "landing"
    settings = Settings.for_home(tmp_path)  # max_row_drop_share 0.2
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", [_j(heartbeat_record(s)) for s in range(80)])
    write_lines(root, "heartbeat", HAND_DAY, "b.jsonl", [_j(heartbeat_record(s, vehicle="veh_b")) for s in range(20)])
    load(con, root, "heartbeat", HAND_DAY)
    (root / "heartbeat" / BASE / "b.jsonl").unlink()  # 80 of 100: exactly the allowed share, no drop
    load(con, root, "heartbeat", HAND_DAY)
    assert row_drops(con, HAND_DAY, settings) == []
    (root / "heartbeat" / BASE / "a.jsonl").write_text(_j(heartbeat_record(0)) + "\n")
    for _ in range(2):  # a rerun on the same short landing still is a drop against the last good load
        load(con, root, "heartbeat", HAND_DAY)
        (drop,) = row_drops(con, HAND_DAY, settings)
        assert (drop.source, drop.rows_before, drop.rows_now) == ("heartbeat", 80, 1)
        problem = drop.problem(settings)
        assert all(t in problem for t in ("heartbeat", str(HAND_DAY), "80", " 1 ", ACCEPT_ROW_DROP_FLAG))
    load(con, root, "heartbeat", HAND_DAY, accept_row_drop=True)
    assert row_drops(con, HAND_DAY, settings) == []
    load(con, root, "heartbeat", HAND_DAY)  # the confirmed load is the new reference
    assert row_drops(con, HAND_DAY, settings) == []


def test_the_reconciliation_gate_fails_on_a_row_drop_unless_the_run_is_tagged(tmp_path):
    root = tmp_path / "landing"
    lines = [_j(heartbeat_record(s)) for s in range(40)]
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", lines)
    settings = Settings.for_home(tmp_path, landing=root, warehouse=tmp_path / "wh.duckdb", start_date=HAND_DAY)
    partitions = daily_partitions(settings)
    asset = build_ods_asset(SOURCES["heartbeat"], partitions)
    check = build_reconciliation_check("heartbeat", asset.key, partitions)
    resources = {"warehouse": WarehouseResource.from_settings(settings)}
    instance = dg.DagsterInstance.ephemeral()

    def run(tags: dict | None = None) -> dg.AssetCheckEvaluation:
        result = dg.materialize([asset, check], partition_key=str(HAND_DAY), resources=resources,
                                instance=instance, tags=tags, raise_on_error=False)
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    assert run().passed
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", lines[:10])
    refused = run()
    assert not refused.passed and ACCEPT_ROW_DROP_FLAG in refused.metadata["failed"].value
    assert run({ACCEPT_ROW_DROP_TAG: "true"}).passed
    assert run().passed  # confirmed: the short day is the reference now
    with lake.session(settings.lake, ods=True) as c:  # the loads and the gate read the lake, not the warehouse
        assert c.execute("select rows_read, row_drop_accepted from ods.ods_load_history order by loaded_at"
                         ).fetchall() == [(40, False), (10, False), (10, True), (10, False)]


# -- finding 8: named rules ------------------------------------------------------------------------------

def _in_contract_order(name: str, record: dict) -> dict:
    """The record with its keys in the order of the contract's fields (the order a source's writer emits)."""
    return {f.name: record[f.name] for f in source(name).fields}


def test_rules_name_what_is_wrong(con, tmp_path):
    root = tmp_path / "landing"
    hb = [
        heartbeat_record(0, speed_mps=9999.0),                      # out_of_range, not km/h
        heartbeat_record(1, speed_mps=1e308),                       # out_of_range
        heartbeat_record(2, speed_mps=MAX_SPEED_MPS * KMH_FACTOR - 1),   # km/h in a m/s field
        heartbeat_record(3, vehicle_id=""),                         # pattern_mismatch
        heartbeat_record(4, vehicle_id=" veh_a"),                   # pattern_mismatch
        heartbeat_record(5, ts=str(HAND_DAY)),                      # a date is no timestamp
        heartbeat_record(6),
    ]
    lines = [_j(r) for r in hb] + [
        _j(heartbeat_record(7)).replace('"speed_mps": 6.7', '"speed_mps": NaN'),   # non_finite
        _j(heartbeat_record(8)).replace("{", '{"city": "x", ', 1),                  # duplicate key
        _j(heartbeat_record(9))[:-1] + ", }",                                       # trailing comma
        _j(heartbeat_record(10, city="a,}")),                                       # a comma in a string is fine
        _j(_in_contract_order("heartbeat", heartbeat_record(11)))[:-1] + ', "city": "x"}',  # every key, then one again
    ]
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", lines)
    r = load(con, root, "heartbeat", HAND_DAY)
    assert r.rows_unaccounted == 0
    assert _codes(con, "heartbeat") == {
        ("a.jsonl", 1): "out_of_range", ("a.jsonl", 2): "out_of_range", ("a.jsonl", 3): "unit_error",
        ("a.jsonl", 4): "pattern_mismatch", ("a.jsonl", 5): "pattern_mismatch", ("a.jsonl", 6): "wrong_type",
        ("a.jsonl", 8): "non_finite", ("a.jsonl", 9): "malformed_json", ("a.jsonl", 10): "malformed_json",
        ("a.jsonl", 12): "malformed_json"}
    t0 = dt.datetime.combine(HAND_DAY, dt.time(10), dt.UTC)
    takeovers = [{"takeover_id": f"to_{i}", "vehicle_id": "veh_a",
                  "ts_start": (t0 + dt.timedelta(minutes=i)).isoformat(),
                  "ts_end": (t0 + dt.timedelta(minutes=i, seconds=s)).isoformat(), "operator_id": "op_1",
                  "channel": "desktop", "initiator": "operator"} for i, s in ((0, 30), (1, -5), (2, 0))]
    write_lines(root, "takeover", HAND_DAY, "t.jsonl", [_j(t) for t in takeovers])
    load(con, root, "takeover", HAND_DAY)
    assert _codes(con, "takeover") == {("t.jsonl", 2): "order_violation"}
    (root / "planner_debug" / BASE).mkdir(parents=True)
    n = 3
    pq.write_table(pa.table({"ts": [t0 + dt.timedelta(seconds=i) for i in range(n)], "vehicle_id": ["veh_a"] * n,
                             "candidate_scores": [[0.9, 0.5], [1.2, 0.5], [0.5, -0.1]],
                             "commanded_steering_deg": [0.0] * n}), root / "planner_debug" / BASE / "p.parquet")
    load(con, root, "planner_debug", HAND_DAY)
    assert _codes(con, "planner_debug") == {("p.parquet", 2): "out_of_range", ("p.parquet", 3): "out_of_range"}


def test_one_line_rule_for_crlf_lone_cr_and_bom_in_plain_and_gzip_files(con, tmp_path):
    root = tmp_path / "landing"
    recs = [_j(heartbeat_record(s)) for s in range(4)]
    recs[1] = recs[1].replace(", ", ",\r ", 1)  # a lone CR between tokens: one valid line
    data = ("\ufeff" + "\r\n".join(recs) + "\r\n").encode()
    (root / "heartbeat" / BASE).mkdir(parents=True)
    (root / "heartbeat" / BASE / "crlf.jsonl").write_bytes(data)
    (root / "heartbeat" / BASE / "crlf.jsonl.gz").write_bytes(gzip.compress(data.replace(b"veh_a", b"veh_b")))
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (8, 8, 0)
    assert _loaded_lines(con, "ods_heartbeat") == [(f, n) for f in ("crlf.jsonl", "crlf.jsonl.gz") for n in range(1, 5)]


# -- inputs of a hostile sender and a careless operator, beyond the nine findings --------------------------

def _gzip_lines(n: int) -> bytes:
    return gzip.compress(("\n".join(_j(heartbeat_record(s)) for s in range(n)) + "\n").encode())


@pytest.mark.parametrize("trailer_byte", [-8, -2], ids=["crc", "isize"])
def test_a_gzip_with_a_wrong_trailer_keeps_its_rows(con, tmp_path, trailer_byte):
    root = tmp_path / "landing"
    (root / "heartbeat" / BASE).mkdir(parents=True)
    data = bytearray(_gzip_lines(5))
    data[trailer_byte] ^= 0xFF  # the checksum or length after the last data byte
    (root / "heartbeat" / BASE / "a.jsonl.gz").write_bytes(bytes(data))
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.rows_read, r.rows_loaded, r.rows_unaccounted, r.files_quarantined) == (5, 5, 0, 1)
    assert con.execute("select reason_code, scope from ods.ods_quarantine").fetchall() == [("truncated_gzip", "file")]


def test_gzip_inside_gzip_is_decompressed_again(con, tmp_path):
    root = tmp_path / "landing"
    (root / "heartbeat" / BASE).mkdir(parents=True)
    (root / "heartbeat" / BASE / "a.jsonl.gz").write_bytes(gzip.compress(_gzip_lines(4)))
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (4, 4, 0)
    (reason,), = con.execute("select reason from ods.ods_landing_manifest").fetchall()
    assert "gzip inside gzip" in reason


def test_parquet_content_named_like_json_lines_is_read_as_parquet(con, tmp_path):
    root = tmp_path / "landing"
    folder = root / "pose" / BASE
    folder.mkdir(parents=True)
    pq.write_table(_pose_rows(0, 3), folder / "a.jsonl")
    pq.write_table(_pose_rows(60, 2), folder / "b.jsonl.gz")
    r = load(con, root, "pose", HAND_DAY)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_unaccounted) == (5, 5, 0, 0)
    assert _loaded_lines(con, "ods_pose") == [("a.jsonl", 1), ("a.jsonl", 2), ("a.jsonl", 3),
                                              ("b.jsonl.gz", 1), ("b.jsonl.gz", 2)]
    reasons = {r for (r,) in con.execute("select reason from ods.ods_landing_manifest").fetchall()}
    assert reasons == {"Parquet content read as Parquet"}


def test_pipes_broken_links_and_undecodable_names_are_reported_not_read(con, tmp_path):
    import os
    import threading
    import time

    root = tmp_path / "landing"
    day = root / "heartbeat" / BASE
    write_lines(root, "heartbeat", HAND_DAY, "good.jsonl", [_j(heartbeat_record(0))])
    os.mkfifo(day / "pipe.jsonl")
    os.mkfifo(root / "heartbeat" / "stray-pipe")
    (day / "gone.jsonl").symlink_to(day / "nothing-here.jsonl")
    (day / "self.jsonl").symlink_to(day / "self.jsonl")  # a link loop
    with open(os.fsencode(day) + b"/\xff\xfe.jsonl", "wb") as f:
        f.write((_j(heartbeat_record(1)) + "\n").encode())
    stop = threading.Event()

    def unblock():  # a reader that opens a pipe would wait for ever: give it an end of file instead
        while not stop.is_set():
            for pipe in (day / "pipe.jsonl", root / "heartbeat" / "stray-pipe"):
                try:
                    os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass
            time.sleep(0.05)

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        r = load(con, root, "heartbeat", HAND_DAY)
    finally:
        stop.set()
        thread.join()
    assert (r.files, r.rows_read, r.rows_loaded) == (1, 1, 1)
    h = f"heartbeat/{BASE}"
    manifest = {name: (outcome, size) for name, outcome, size in con.execute(
        "select file_name, outcome, size_bytes from ods.ods_landing_manifest").fetchall()}
    assert {n: o for n, (o, _) in manifest.items()} == {
        f"{h}/good.jsonl": "read", f"{h}/pipe.jsonl": "unknown_file", "heartbeat/stray-pipe": "unknown_file",
        f"{h}/gone.jsonl": "unknown_file", f"{h}/self.jsonl": "unknown_file", f"{h}/\\xff\\xfe.jsonl": "unknown_file"}
    assert manifest[f"{h}/pipe.jsonl"][1] is None  # never opened
    reasons = dict(con.execute("select file_name, reason from ods.ods_landing_manifest").fetchall())
    assert "not a regular file" in reasons[f"{h}/pipe.jsonl"] and "broken link" in reasons[f"{h}/gone.jsonl"]
    assert "UTF-8" in reasons[f"{h}/\\xff\\xfe.jsonl"]


def test_an_unreadable_file_quarantines_itself_and_the_day_loads(con, tmp_path, monkeypatch):
    from fleetloop.ingest import readers

    root = tmp_path / "landing"
    write_lines(root, "heartbeat", HAND_DAY, "good.jsonl", [_j(heartbeat_record(0))])
    locked = write_lines(root, "heartbeat", HAND_DAY, "locked.jsonl", [_j(heartbeat_record(1))])
    real_open = open

    def deny(path, *args, **kwargs):  # chmod 000 does not stop root, who may run these tests
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(readers, "open", deny, raising=False)
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.files, r.rows_read, r.rows_loaded, r.rows_unaccounted, r.files_quarantined) == (2, 1, 1, 0, 1)
    (file, code, reason), = con.execute("select source_file, reason_code, reason from ods.ods_quarantine").fetchall()
    assert (file, code) == (f"heartbeat/{BASE}/locked.jsonl", "unreadable_file") and "Permission denied" in reason
    assert con.execute("select outcome, sha256 from ods.ods_landing_manifest where file_name like '%locked%'"
                       ).fetchall() == [("quarantined", None)]


def test_a_day_path_that_is_a_file_is_refused_as_not_a_folder(con, tmp_path):
    root = tmp_path / "landing"
    (root / "heartbeat").mkdir(parents=True)
    (root / "heartbeat" / BASE).write_text("not a folder")
    with pytest.raises(MissingPartitionError, match="is not a folder"):
        load(con, root, "heartbeat", HAND_DAY)


def test_parquet_integers_are_counts_and_scores_hold_numbers_only(con, tmp_path):
    root = tmp_path / "landing"
    t0 = dt.datetime.combine(HAND_DAY, dt.time(10), dt.UTC)
    (root / "environment" / BASE).mkdir(parents=True)
    for i, kind in enumerate((pa.int32(), pa.uint8(), pa.uint64())):
        pq.write_table(pa.table({
            "ts": [t0 + dt.timedelta(seconds=10 * i + s) for s in range(2)], "vehicle_id": ["veh_a"] * 2,
            "rain_sensor_pct": [1.0] * 2, "wiper_level": pa.array([0, 3], kind), "ambient_lux": [100.0] * 2,
            "visibility_m": [1000.0] * 2, "outside_temp_c": [20.0] * 2, "weather": ["clear"] * 2,
            "light": ["day"] * 2}), root / "environment" / BASE / f"e{i}.parquet")
    r = load(con, root, "environment", HAND_DAY)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (6, 6, 0)
    (root / "planner_debug" / BASE).mkdir(parents=True)
    pq.write_table(pa.table({"ts": [t0 + dt.timedelta(seconds=s) for s in range(2)], "vehicle_id": ["veh_a"] * 2,
                             "candidate_scores": pa.array([[0.5, None], [0.5, 0.25]], pa.list_(pa.float64())),
                             "commanded_steering_deg": [0.0] * 2}), root / "planner_debug" / BASE / "p.parquet")
    lines = [_j({"ts": (t0 + dt.timedelta(seconds=60 + s)).isoformat(), "vehicle_id": "veh_a",
                 "candidate_scores": scores, "commanded_steering_deg": 0.0})
             for s, scores in enumerate(([0.5, "0.4"], ["0.5"], [0.5, 0.4]))]
    write_lines(root, "planner_debug", HAND_DAY, "p.jsonl", lines)
    load(con, root, "planner_debug", HAND_DAY)
    assert _codes(con, "planner_debug") == {("p.parquet", 1): "wrong_type", ("p.jsonl", 1): "wrong_type",
                                            ("p.jsonl", 2): "wrong_type"}


def test_ids_with_unicode_white_space_do_not_match_the_id_pattern(con, tmp_path):
    root = tmp_path / "landing"
    ids = ["veh\u00a0a", "veh_a\u3000", "veh_a\u2028", "veh\u0085a", "veh_é", "车辆_1"]
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", [_j(heartbeat_record(s, vehicle=v)) for s, v in enumerate(ids)])
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.rows_loaded, r.rows_quarantined) == (2, 4)
    assert set(_codes(con, "heartbeat").values()) == {"pattern_mismatch"}
    loaded = con.execute("select vehicle_id from ods.ods_heartbeat order by 1").fetchall()
    assert loaded == [("veh_é",), ("车辆_1",)]


def test_reasons_show_strings_as_strings_and_rfc3339_lower_case_is_a_timestamp(con, tmp_path):
    root = tmp_path / "landing"
    lines = [_j(heartbeat_record(0, speed_mps="12.5")), _j(heartbeat_record(1, speed_mps=True)),
             _j(heartbeat_record(2, ts=f"{HAND_DAY}t08:00:02z")), "\t", _j(heartbeat_record(4))]
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", lines)
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.rows_loaded, r.rows_quarantined) == (2, 3)
    reasons = dict(con.execute("select line_number, reason from ods.ods_quarantine").fetchall())
    assert reasons == {1: "field 'speed_mps' is not a DOUBLE: \"12.5\"", 2: "field 'speed_mps' is not a DOUBLE: true",
                       4: "empty line"}
