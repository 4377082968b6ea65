"""The ODS loader on hand-made landing files: every fault class, reconciliation, reloads, time zones, guards."""

import datetime as dt
import json
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fleetloop.contract import MAX_SPEED_MPS, SOURCES, markdown_table
from fleetloop.ingest import connect
from fleetloop.ingest.schema import LINEAGE_COLUMNS
from fleetloop.paths import PartitionError
from fleetloop_shell.cli import main as cli_main
from tests.fixtures.ods import HAND_DAY, heartbeat_record, lake_of, load, write_lines

PROJECT = Path(__file__).resolve().parents[1]


def _j(rec: dict) -> str:
    return json.dumps(rec)


def _without(rec: dict, key: str) -> dict:
    return {k: v for k, v in rec.items() if k != key}


# line number -> expected reason code (None: loaded; "duplicate": counted as a duplicate)
HEARTBEAT_LINES: list[tuple[str, str | None]] = [
    (_j(heartbeat_record(0)), None),
    (_j(heartbeat_record(1)), None),
    (_j(heartbeat_record(2)), None),
    ('{"ts": "2026-03-14T08:00:03Z", "vehicle_', "malformed_json"),
    (_j(_without(heartbeat_record(4), "vehicle_id")), "missing_field"),
    (_j(heartbeat_record(5, speed_mps="fast")), "wrong_type"),
    (_j(heartbeat_record(6, road_type="highway")), "unknown_enum"),
    (_j(heartbeat_record(7, lat=95.0)), "out_of_range"),
    (_j(heartbeat_record(8)), None),
    (_j(heartbeat_record(9, speed_mps=round(heartbeat_record(9)["speed_mps"] * 3.6, 4))), "unit_error"),
    (_j(heartbeat_record(10)), None),
    (_j(heartbeat_record(11, ts="2026-03-17T08:00:11Z")), "clock_skew"),
    (_j(heartbeat_record(12)), None),
    (_j(heartbeat_record(1)), "duplicate"),
    (_j(heartbeat_record(13)), "pk_conflict"),
    (_j(heartbeat_record(13, city="beijing")), "pk_conflict"),
    (_j(heartbeat_record(14, speed_mps=MAX_SPEED_MPS + 15)), "unit_error"),
    (_j(heartbeat_record(15)), None),
    ("", "malformed_json"),
    ("[1, 2]", "malformed_json"),
    (_j(heartbeat_record(16, task_id=None)), None),
    (_j(heartbeat_record(17, drive_mode=None)), "missing_field"),
    (_j(heartbeat_record(18, speed_mps=True)), "wrong_type"),
    (_j(heartbeat_record(19)), None),
]


@pytest.fixture()
def landing(tmp_path) -> Path:
    """A heartbeat day with one line per fault class, a gzip file, an empty file and a truncated gzip."""
    root = tmp_path / "landing"
    write_lines(root, "heartbeat", HAND_DAY, "part-000.jsonl", [text for text, _ in HEARTBEAT_LINES])
    write_lines(root, "heartbeat", HAND_DAY, "part-001.jsonl.gz",
                [_j(heartbeat_record(s, vehicle="veh_b")) for s in range(3)], gz=True)
    write_lines(root, "heartbeat", HAND_DAY, "empty-000.jsonl", [])
    resend = write_lines(root, "heartbeat", HAND_DAY, "resend-000.jsonl.gz",
                         [_j(heartbeat_record(s, vehicle="veh_c")) for s in range(50)], gz=True)
    resend.write_bytes(resend.read_bytes()[: int(resend.stat().st_size * 0.6)])
    return root


def _complete_lines_in_truncated_gzip(path: Path) -> int:
    """Independent count: complete lines zlib can recover from a cut-off gzip file."""
    return zlib.decompressobj(wbits=31).decompress(path.read_bytes()).count(b"\n")


@pytest.fixture()
def con(tmp_path):
    c = connect(tmp_path / "wh.duckdb")
    yield c
    c.close()


def _quarantine(con, source: str) -> set[tuple[str, int, str, str]]:
    return set(con.execute("select source_file, line_number, reason_code, scope from ods.ods_quarantine "
                           "where source = ?", [source]).fetchall())


def test_each_fault_class_is_quarantined_at_its_file_and_line(con, landing):
    load(con, landing, "heartbeat", HAND_DAY)
    base = f"heartbeat/dt={HAND_DAY}"
    recovered = _complete_lines_in_truncated_gzip(landing / base / "resend-000.jsonl.gz")
    expected = {(f"{base}/part-000.jsonl", n, code, "row") for n, (_, code) in enumerate(HEARTBEAT_LINES, 1)
                if code not in (None, "duplicate")}
    expected |= {(f"{base}/empty-000.jsonl", 0, "empty_file", "file"),
                 (f"{base}/resend-000.jsonl.gz", 0, "truncated_gzip", "file"),
                 (f"{base}/resend-000.jsonl.gz", recovered + 1, "truncated_gzip", "row")}
    assert _quarantine(con, "heartbeat") == expected
    raw, reason = con.execute("select raw_text, reason from ods.ods_quarantine where line_number = 6 "
                              "and source_file like '%part-000%'").fetchone()
    assert raw == HEARTBEAT_LINES[5][0] and "speed_mps" in reason and "fast" in reason


def test_reconciliation_balances_and_counts_duplicates(con, landing):
    r = load(con, landing, "heartbeat", HAND_DAY)
    recovered = _complete_lines_in_truncated_gzip(landing / f"heartbeat/dt={HAND_DAY}/resend-000.jsonl.gz")
    loaded_lines = sum(code is None for _, code in HEARTBEAT_LINES)
    assert r.rows_read == len(HEARTBEAT_LINES) + 3 + recovered + 1
    assert r.rows_loaded == loaded_lines + 3 + recovered
    assert r.rows_duplicate == 1
    assert r.rows_quarantined == sum(code not in (None, "duplicate") for _, code in HEARTBEAT_LINES) + 1
    assert r.rows_unaccounted == 0 and r.files == 4 and r.files_quarantined == 2
    row = con.execute("select files, rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_unaccounted "
                      "from ods.ods_reconciliation where source = 'heartbeat' and dt = ?", [HAND_DAY]).fetchall()
    assert row == [(4, r.rows_read, r.rows_loaded, r.rows_quarantined, 1, 0)]
    # the kept copy of the duplicate is the first one, and the loaded lines are exactly the clean ones
    lines = con.execute("select _line_number from ods.ods_heartbeat where _source_file like '%part-000.jsonl' "
                        "order by 1").fetchall()
    assert [n for (n,) in lines] == [n for n, (_, code) in enumerate(HEARTBEAT_LINES, 1) if code is None]


def test_loading_a_day_twice_replaces_it(con, landing):
    first = load(con, landing, "heartbeat", HAND_DAY)
    counts = con.execute("select (select count(*) from ods.ods_heartbeat), (select count(*) from ods.ods_quarantine),"
                         " (select count(*) from ods.ods_reconciliation)").fetchone()
    second = load(con, landing, "heartbeat", HAND_DAY)
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == \
           (second.rows_read, second.rows_loaded, second.rows_quarantined)
    assert con.execute("select (select count(*) from ods.ods_heartbeat), (select count(*) from ods.ods_quarantine),"
                       " (select count(*) from ods.ods_reconciliation)").fetchone() == counts
    (landing / f"heartbeat/dt={HAND_DAY}/part-000.jsonl").unlink()
    third = load(con, landing, "heartbeat", HAND_DAY)
    assert con.execute("select count(*) from ods.ods_heartbeat").fetchone()[0] == third.rows_loaded == \
        first.rows_loaded - sum(code is None for _, code in HEARTBEAT_LINES)


def test_other_days_are_untouched_by_a_reload(con, tmp_path):
    root = tmp_path / "landing"
    other = HAND_DAY + dt.timedelta(days=1)
    write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", [_j(heartbeat_record(0))])
    write_lines(root, "heartbeat", other, "a.jsonl",
                [_j(heartbeat_record(0, ts=f"{other}T09:00:00Z")), _j(heartbeat_record(1, ts=f"{other}T09:00:01Z"))])
    load(con, root, "heartbeat", HAND_DAY)
    load(con, root, "heartbeat", other)
    load(con, root, "heartbeat", HAND_DAY)
    assert con.execute("select dt, count(*) from ods.ods_heartbeat group by dt order by dt").fetchall() == \
        [(HAND_DAY, 1), (other, 2)]


def test_timestamps_with_offsets_and_epochs_are_normalised_to_utc(con, tmp_path):
    root = tmp_path / "landing"
    base = dt.datetime.combine(HAND_DAY, dt.time(8), dt.UTC)
    stamps = [
        ("2026-03-14T16:00:00+08:00", base),
        ("2026-03-14T03:00:01-05:00", base + dt.timedelta(seconds=1)),
        ("2026-03-14 08:00:02", base + dt.timedelta(seconds=2)),
        ("2026-03-14T08:00:03.250Z", base + dt.timedelta(seconds=3.25)),
        (int((base + dt.timedelta(seconds=4)).timestamp()), base + dt.timedelta(seconds=4)),
        (int((base + dt.timedelta(seconds=5.5)).timestamp() * 1000), base + dt.timedelta(seconds=5.5)),
        ((base + dt.timedelta(seconds=6)).timestamp(), base + dt.timedelta(seconds=6)),
        (int((base + dt.timedelta(seconds=7)).timestamp() * 1_000_000) + 1,
         base + dt.timedelta(seconds=7, microseconds=1)),
    ]
    write_lines(root, "vehicle_call", HAND_DAY, "calls.jsonl",
                [_j({"ts": ts, "vehicle_id": "veh_a", "call_type": "call_guard", "reason": None}) for ts, _ in stamps])
    r = load(con, root, "vehicle_call", HAND_DAY)
    assert r.rows_loaded == len(stamps) and r.rows_quarantined == 0
    got = [t for (t,) in con.execute("select ts from ods.ods_vehicle_call order by _line_number").fetchall()]
    assert got == [want for _, want in stamps]
    assert all(t.utcoffset() == dt.timedelta(0) for t in got)


def _pose_table(n: int) -> dict:
    start = dt.datetime.combine(HAND_DAY, dt.time(9), dt.UTC)
    return {
        "ts": [start + dt.timedelta(seconds=0.1 * i) for i in range(n)], "vehicle_id": ["veh_a"] * n,
        "x_m": [float(i) for i in range(n)], "y_m": [0.0] * n, "speed_mps": [10.0] * n,
        "acc_lon_mps2": [0.0] * n, "acc_lat_mps2": [0.0] * n, "heading_rad": [0.0] * n, "yaw_rate_rps": [0.0] * n,
        "drive_mode": ["auto"] * n, "steering_deg": [0.0] * n, "throttle_pct": [10.0] * n, "brake_pct": [0.0] * n,
        "is_emergency_brake": [False] * n, "task_id": ["t"] * n, "route_id": ["r"] * n, "task_status": ["driving"] * n,
    }


def _write_parquet(root: Path, name: str, cols: dict, schema: pa.Schema | None = None) -> Path:
    folder = root / "pose" / f"dt={HAND_DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols, schema=schema), folder / name)
    return folder / name


def test_parquet_rows_are_validated_by_row_number(con, tmp_path):
    root = tmp_path / "landing"
    cols = _pose_table(10)
    cols["speed_mps"][2] = -1.0                      # row 3
    cols["drive_mode"][3] = "teleport"               # row 4
    cols["vehicle_id"][4] = None                     # row 5
    for k in cols:                                    # row 7 = row 6
        cols[k][6] = cols[k][5]
    cols["ts"][7] = cols["ts"][7] + dt.timedelta(days=3)   # row 8
    cols["heading_rad"][8] = 4.0                     # row 9
    cols["x_m"][9] = float("nan")                    # row 10
    _write_parquet(root, "part-000.parquet", cols)
    epoch = _pose_table(3)
    epoch["ts"] = [int(t.timestamp() * 1000) + 3_600_000 for t in epoch["ts"]]  # epoch ms, one hour later
    _write_parquet(root, "part-001.parquet", epoch)
    (root / "pose" / f"dt={HAND_DAY}" / "part-002.parquet").write_bytes(b"")
    (root / "pose" / f"dt={HAND_DAY}" / "part-003.parquet").write_bytes(b"PAR1 not really")
    r = load(con, root, "pose", HAND_DAY)
    base = f"pose/dt={HAND_DAY}"
    assert _quarantine(con, "pose") == {
        (f"{base}/part-000.parquet", 3, "out_of_range", "row"), (f"{base}/part-000.parquet", 4, "unknown_enum", "row"),
        (f"{base}/part-000.parquet", 5, "missing_field", "row"), (f"{base}/part-000.parquet", 8, "clock_skew", "row"),
        (f"{base}/part-000.parquet", 9, "out_of_range", "row"), (f"{base}/part-000.parquet", 10, "non_finite", "row"),
        (f"{base}/part-002.parquet", 0, "empty_file", "file"),
        (f"{base}/part-003.parquet", 0, "unreadable_file", "file"),
    }
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_unaccounted) == (13, 6, 1, 0)
    raw = con.execute("select raw_text from ods.ods_quarantine where line_number = 4").fetchone()[0]
    assert json.loads(raw)["drive_mode"] == "teleport"
    hours = con.execute("select distinct hour(ts) from ods.ods_pose where _source_file like '%001%'").fetchall()
    assert hours == [(10,)]


def test_pk_conflict_across_formats_quarantines_every_version(con, tmp_path):
    root = tmp_path / "landing"
    cols = _pose_table(3)
    _write_parquet(root, "a.parquet", cols)
    line = {k: (v[1].strftime("%Y-%m-%dT%H:%M:%S.%fZ") if k == "ts" else v[1]) for k, v in cols.items()}
    write_lines(root, "pose", HAND_DAY, "b.jsonl", [_j(line), _j(line | {"speed_mps": 11.0})])
    r = load(con, root, "pose", HAND_DAY)
    base = f"pose/dt={HAND_DAY}"
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_quarantined) == (5, 2, 1, 2)
    assert _quarantine(con, "pose") == {(f"{base}/a.parquet", 2, "pk_conflict", "row"),
                                        (f"{base}/b.jsonl", 2, "pk_conflict", "row")}


def test_invalid_utf8_is_a_malformed_line(con, tmp_path):
    root = tmp_path / "landing"
    path = write_lines(root, "heartbeat", HAND_DAY, "a.jsonl", [_j(heartbeat_record(0)), "x", _j(heartbeat_record(2))])
    data = path.read_bytes().replace(b"\nx\n", b'\n{"vehicle_id": "\xff\xfe"}\n')
    path.write_bytes(data)
    r = load(con, root, "heartbeat", HAND_DAY)
    assert (r.rows_loaded, r.rows_quarantined) == (2, 1)
    assert con.execute("select line_number, reason from ods.ods_quarantine").fetchall() == \
        [(2, "line is not valid UTF-8")]


@pytest.mark.parametrize("day", ["../2026-03-14", "2026-03-14/..", "2026-02-30", "*", "2026-3-14"])
def test_hostile_days_are_refused_before_anything_is_written(con, landing, day, tmp_path):
    with pytest.raises(PartitionError):
        load(con, landing, "heartbeat", day)
    assert con.execute("select count(*) from information_schema.tables where table_schema = 'ods'").fetchone()[0] == 0
    assert not lake_of(tmp_path / "wh.duckdb").exists()


def test_hostile_sources_and_escaping_files_are_refused(con, landing, tmp_path):
    for source in ("../heartbeat", "heartbeat/../pose", "lidar"):
        with pytest.raises(PartitionError):
            load(con, landing, source, HAND_DAY)
    outside = tmp_path / "secret.jsonl"
    outside.write_text(_j(heartbeat_record(0)) + "\n")
    (landing / f"heartbeat/dt={HAND_DAY}/zz-link.jsonl").symlink_to(outside)
    with pytest.raises(PartitionError, match="outside the landing"):
        load(con, landing, "heartbeat", HAND_DAY)


def test_ods_tables_are_generated_from_the_contract(con, landing):
    load(con, landing, "heartbeat", HAND_DAY)
    rows = con.execute("select table_name, column_name, data_type from information_schema.columns "
                       "where table_schema = 'ods' order by table_name, ordinal_position").fetchall()
    spelled = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
    for s in SOURCES.values():
        got = [(c, t) for table, c, t in rows if table == s.ods_table]
        want = [(f.name, spelled.get(f.type, f.type)) for f in s.fields]
        want += [(n, spelled.get(t, t)) for n, t in LINEAGE_COLUMNS]
        assert got == want, s.name


def test_cli_loads_a_day_and_reports_balance(landing, tmp_path, capsys):
    wh = tmp_path / "cli.duckdb"
    (landing / "pose" / f"dt={HAND_DAY}").mkdir(parents=True)  # a quiet day: an empty folder
    code = cli_main(["load", "--landing", str(landing), "--lake", str(tmp_path / "lake"), "--warehouse", str(wh),
                     "--day", str(HAND_DAY), "--source", "heartbeat", "--source", "pose"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("unaccounted=0") == 2 and "heartbeat" in out
    with connect(wh, read_only=True) as c:  # the warehouse's ODS views read what the load wrote to the lake
        assert c.execute("select source, rows_read from ods.ods_reconciliation order by 1").fetchall() == \
            [("heartbeat", len(HEARTBEAT_LINES) + 3 + _complete_lines_in_truncated_gzip(
                landing / f"heartbeat/dt={HAND_DAY}/resend-000.jsonl.gz") + 1), ("pose", 0)]
    assert cli_main(["load", "--landing", str(tmp_path / "nowhere"), "--lake", str(tmp_path / "lake"),
                     "--warehouse", str(wh), "--day", str(HAND_DAY)]) == 2


def test_contract_doc_is_generated_and_current():
    doc = (PROJECT / "docs" / "contract.md").read_text(encoding="utf-8")
    assert doc == markdown_table() + "\n", "regenerate with: fleetloop contract > docs/contract.md"


def test_many_rows_keep_their_line_numbers(con, tmp_path):
    """Line numbers survive Arrow's block splitting (several blocks, gzip)."""
    root = tmp_path / "landing"
    n = 60_000
    rng = np.random.default_rng(0)
    bad = set(rng.choice(np.arange(1, n + 1), size=25, replace=False).tolist())
    lines = ["not json" if i in bad else _j(heartbeat_record(i % 30_000, vehicle=f"veh_{i // 30_000}", speed_mps=5.0))
             for i in range(1, n + 1)]
    write_lines(root, "heartbeat", HAND_DAY, "big.jsonl.gz", lines, gz=True)
    r = load(con, root, "heartbeat", HAND_DAY)
    assert r.rows_read == n and r.rows_quarantined == len(bad) and r.rows_unaccounted == 0
    got = {n for (n,) in con.execute("select line_number from ods.ods_quarantine").fetchall()}
    assert got == bad
