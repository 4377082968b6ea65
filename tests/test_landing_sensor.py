"""The late-data sensor: late files noticed by content (a copy that keeps its mtime, a rewrite in place), the
landing manifest as the reference when the warehouse has one, and a bad folder or a link out of the landing
reported by name while the rest is scanned. Real Dagster instance, sensor ticks and DuckDB file."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil

import dagster as dg
import pytest

from dagster_pipelines.automation.landing import build_late_data_sensor, raw_asset_specs
from dagster_pipelines.jobs import build_daily_job
from dagster_pipelines.ods.assets import build_ods_assets
from dagster_pipelines.resources import WarehouseResource
from fleetloop import lake
from fleetloop.contract import SOURCES
from fleetloop.landing import content_print, scan_landing
from fleetloop.runlock import holding
from fleetloop.settings import Settings
from fleetloop.warehouse import connect

TODAY = dt.datetime.now(dt.UTC).date()
DAY = TODAY - dt.timedelta(days=3)
OTHER_DAY = TODAY - dt.timedelta(days=5)
START = TODAY - dt.timedelta(days=10)
ODS_KEYS = {name: dg.AssetKey(["ods", src.ods_table]) for name, src in SOURCES.items()}
DAY_S = 86_400


def _land(landing, source: str, day: dt.date, name: str, data: bytes):
    folder = landing / source / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Fleet:
    """A landing, its settings, a Dagster instance with loaded days, and the sensor's ticks."""

    def __init__(self, tmp_path, instance: dg.DagsterInstance) -> None:
        self.settings = Settings.for_home(tmp_path)
        self.landing = self.settings.landing
        self.instance = instance
        partitions = dg.DailyPartitionsDefinition(start_date=START.isoformat(), timezone="UTC")
        job = build_daily_job(partitions)
        self.resources = {"warehouse": WarehouseResource.from_settings(self.settings)}
        self.defs = dg.Definitions(
            assets=[*raw_asset_specs(partitions), *build_ods_assets(partitions)], jobs=[job],
            sensors=[build_late_data_sensor(job, ODS_KEYS, partitions)], resources=self.resources)
        self.cursor: str | None = None

    def loaded(self, source: str, day: dt.date) -> None:
        self.instance.report_runless_asset_event(dg.AssetMaterialization(ODS_KEYS[source], partition=day.isoformat()))

    def tick(self, *, fresh: bool = False):
        """One sensor evaluation (``fresh``: as on a first tick, without the previous cursor)."""
        sensor = self.defs.resolve_sensor_def("late_data_sensor")
        with dg.build_sensor_context(instance=self.instance, cursor=None if fresh else self.cursor,
                                     definitions=self.defs, resources=self.resources) as context:
            data = sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return data


@pytest.fixture()
def fleet(tmp_path):
    with dg.instance_for_test() as instance:
        f = Fleet(tmp_path, instance)
        _land(f.landing, "heartbeat", DAY, "part-000.jsonl", b'{"a": 1}\n' * 50)
        _land(f.landing, "vehicle_call", DAY, "calls.jsonl", b'{"c": 1}\n')
        _land(f.landing, "heartbeat", OTHER_DAY, "part-000.jsonl", b'{"b": 2}\n' * 20)
        for source, day in (("heartbeat", DAY), ("vehicle_call", DAY), ("heartbeat", OTHER_DAY)):
            f.loaded(source, day)
        yield f


def _requested(data) -> dict[str, str]:
    return {r.partition_key: r.tags["fleetloop/late_sources"] for r in data.run_requests}


def test_a_late_copy_that_keeps_its_old_mtime_rebuilds_its_day(fleet, tmp_path):
    assert _requested(fleet.tick()) == {}  # first tick: the baseline
    assert _requested(fleet.tick()) == {}  # nothing changed
    late = tmp_path / "outbox" / "late-000.jsonl"
    late.parent.mkdir()
    late.write_bytes(b'{"a": 2}\n' * 7)
    two_days_ago = dt.datetime.now(dt.UTC).timestamp() - 2 * DAY_S  # older than the day's load
    os.utime(late, (two_days_ago, two_days_ago))
    copied = shutil.copy2(late, fleet.landing / "heartbeat" / f"dt={DAY}" / late.name)
    assert os.stat(copied).st_mtime == pytest.approx(two_days_ago)

    data = fleet.tick()
    assert _requested(data) == {DAY.isoformat(): "heartbeat"}
    selection = set(data.run_requests[0].asset_selection)
    assert ODS_KEYS["heartbeat"] in selection and ODS_KEYS["vehicle_call"] not in selection
    assert _requested(fleet.tick()) == {}  # seen: not asked again


def test_a_file_rewritten_in_place_with_its_old_size_and_mtime_is_noticed(fleet):
    fleet.tick()
    path = fleet.landing / "heartbeat" / f"dt={OTHER_DAY}" / "part-000.jsonl"
    before = os.stat(path)
    with open(path, "r+b") as f:  # same inode, same size
        f.write(b'{"b": 3}')
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert _requested(fleet.tick()) == {OTHER_DAY.isoformat(): "heartbeat"}


def test_a_day_never_loaded_is_asked_for_unless_it_is_yesterday(fleet):
    yesterday = TODAY - dt.timedelta(days=1)
    _land(fleet.landing, "heartbeat", TODAY - dt.timedelta(days=2), "part-000.jsonl", b"{}\n")
    _land(fleet.landing, "heartbeat", yesterday, "part-000.jsonl", b"{}\n")  # the nightly schedule's
    _land(fleet.landing, "heartbeat", TODAY, "part-000.jsonl", b"{}\n")  # still landing
    assert _requested(fleet.tick()) == {(TODAY - dt.timedelta(days=2)).isoformat(): "heartbeat"}
    assert _requested(fleet.tick()) == {}


def _write_manifest(settings: Settings, rows: list[tuple]) -> None:
    """Manifest rows as the loads write them: one lake file per source-day (``dt`` in the path only)."""
    with connect(":memory:") as con:
        con.execute("create table m (dt date, source varchar, file_name varchar, size_bytes bigint, sha256 varchar, "
                    "rows_read bigint, outcome varchar, reason varchar, loaded_at timestamptz)")
        con.executemany("insert into m values (?, ?, ?, ?, ?, ?, ?, ?, now())", rows)
        for day, source in con.execute("select distinct dt, source from m").fetchall():
            path = lake.bookkeeping_file(settings.lake, "ods_landing_manifest", source, day)
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"copy (select * exclude (dt) from m where dt = ? and source = ?) to '{path}' "
                        "(format parquet)", [day, source])


def test_the_manifest_is_the_reference_once_a_load_wrote_one(fleet):
    beat, call = b'{"a": 1}\n' * 50, b'{"c": 1}\n'
    folder = fleet.landing / "heartbeat" / f"dt={DAY}"
    _write_manifest(fleet.settings, [  # what the load read; rows outside the prints are ignored
        (DAY, "heartbeat", f"heartbeat/dt={DAY}/part-000.jsonl", len(beat), _sha(beat), 50, "read", None),
        (DAY, "heartbeat", f"heartbeat/dt={DAY}/sub/x.jsonl", 3, _sha(b"abc"), 0, "unknown_file", "in a subfolder"),
        (DAY, "heartbeat", ".part.tmp", 3, _sha(b"abc"), 0, "unknown_file", "hidden"),
        (DAY, "vehicle_call", str(fleet.landing / "vehicle_call" / f"dt={DAY}" / "calls.jsonl"), len(call),
         _sha(call), 1, "loaded", None),
    ])
    assert _requested(fleet.tick(fresh=True)) == {}  # the landing is what the load read
    (folder / "late-000.jsonl").write_bytes(b'{"a": 9}\n')
    assert _requested(fleet.tick(fresh=True)) == {DAY.isoformat(): "heartbeat"}  # even without a cursor

    with holding(fleet.settings.warehouse, "run-in-progress"):  # the lake needs no lock: a run changes nothing
        assert _requested(fleet.tick(fresh=True)) == {DAY.isoformat(): "heartbeat"}


def test_the_loaders_own_manifest_agrees_with_the_scan(fleet, tmp_path):
    """A real ODS load through Dagster writes the manifest; the sensor, with no cursor, then asks for nothing
    until a late file (mtime kept) lands."""
    (fleet.landing / "heartbeat" / f"dt={DAY}" / "notes.txt").write_bytes(b"not a raw file\n")  # reported, hashed
    partitions = dg.DailyPartitionsDefinition(start_date=START.isoformat(), timezone="UTC")
    heartbeat = [a for a in build_ods_assets(partitions) if a.key == ODS_KEYS["heartbeat"]]
    assert dg.materialize(heartbeat, partition_key=DAY.isoformat(), resources=fleet.resources,
                          instance=fleet.instance).success
    assert _requested(fleet.tick(fresh=True)) == {}
    late = tmp_path / "late-000.jsonl"
    late.write_bytes(b'{"a": 3}\n')
    os.utime(late, (0, 0))
    shutil.copy2(late, fleet.landing / "heartbeat" / f"dt={DAY}" / late.name)
    assert _requested(fleet.tick(fresh=True)) == {DAY.isoformat(): "heartbeat"}


def test_bad_folders_and_links_out_are_named_and_the_rest_is_scanned(fleet, tmp_path, capfd):
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.jsonl").write_bytes(b"secret\n")
    _land(fleet.landing, "heartbeat", DAY, "ok.jsonl", b"{}\n")
    for bad in ("dt=2026-13-45", "dt=garbage"):
        (fleet.landing / "heartbeat" / bad).mkdir()
        (fleet.landing / "heartbeat" / bad / "part-000.jsonl").write_bytes(b"{}\n")
    (fleet.landing / "heartbeat" / f"dt={DAY}" / "evil.jsonl").symlink_to(outside / "secret.jsonl")
    (fleet.landing / "pose" / f"dt={DAY}").parent.mkdir()
    (fleet.landing / "pose" / f"dt={DAY}").symlink_to(outside / "dir", target_is_directory=True)
    (fleet.landing / "heartbeats").mkdir()
    bad_names = ["heartbeat/dt=2026-13-45", "heartbeat/dt=garbage", f"heartbeat/dt={DAY}/evil.jsonl",
                 f"pose/dt={DAY}", "heartbeats"]

    scan = scan_landing(fleet.landing, {})
    assert sorted(p.path for p in scan.problems) == sorted(bad_names)
    beat = b'{"a": 1}\n' * 50
    assert scan.prints[(DAY.isoformat(), "heartbeat")] == content_print(
        [("ok.jsonl", 3, _sha(b"{}\n")), ("part-000.jsonl", len(beat), _sha(beat))])
    assert set(scan.prints) == {(DAY.isoformat(), "heartbeat"), (DAY.isoformat(), "vehicle_call"),
                                (OTHER_DAY.isoformat(), "heartbeat")}

    capfd.readouterr()
    first = fleet.tick()
    assert first.run_requests == [] and all(name in first.skip_message for name in bad_names)
    warned = [line for line in capfd.readouterr().err.splitlines() if "WARNING" in line]  # the sensor's log
    assert any(all(name in line for name in bad_names) for line in warned), warned
    _land(fleet.landing, "heartbeat", OTHER_DAY, "late-000.jsonl", b"{}\n")
    assert _requested(fleet.tick()) == {OTHER_DAY.isoformat(): "heartbeat"}  # the other days still scanned


def test_hashes_are_cached_and_a_budget_spreads_them_over_scans(fleet):
    first = scan_landing(fleet.landing, {})
    assert first.hashed_bytes == sum(s.size_bytes for s in first.files.values()) > 0 and not first.pending
    again = scan_landing(fleet.landing, first.files)
    assert again.hashed_bytes == 0 and again.prints == first.prints

    cache, scans = {}, 0
    while True:  # one byte of budget: one file per scan, folders pending until all their files are hashed
        scan = scan_landing(fleet.landing, cache, budget_bytes=1)
        cache, scans = scan.files, scans + 1
        if not scan.pending:
            break
        assert len(scan.prints) < len(first.prints)
    assert scan.prints == first.prints and scans == len(first.files)
