"""Atomic publication: a crash between the temp write and the swap leaves the old file; readers keep reading."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from fleetloop.publish import METHODS, PublishError, connect_published, publication_info, publish


def _working(path, rows):
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists ods")
    con.execute("create or replace table ods.ods_reconciliation as select date '2026-03-01' as dt, ? as rows_loaded", [rows])
    con.execute("create or replace table ods.facts as select range as i from range(?)", [rows])
    con.close()


def _count(path):
    con = connect_published(path)
    try:
        return con.execute("select count(*) from ods.facts").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("method", METHODS)
def test_publish_replaces_atomically_and_stamps(tmp_path, method):
    working, published = tmp_path / "w.duckdb", tmp_path / "pub" / "fleetloop.duckdb"
    _working(working, 100)
    first = publish(working, published, run_id="run-1", method=method)
    assert first.tables >= 2 and _count(published) == 100
    reader = connect_published(published)  # an analyst holding the old publication open
    _working(working, 250)
    publish(working, published, run_id="run-2", method=method)
    assert reader.execute("select count(*) from ods.facts").fetchone()[0] == 100  # old inode, no lock error
    reader.close()
    assert _count(published) == 250
    assert publication_info(published) == {
        "run_id": "run-2", "published_at": publication_info(published)["published_at"], "days": ["2026-03-01"]
    }
    assert not (published.stat().st_mode & 0o222), "published file must be read-only"
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(published), read_only=True).execute("create table x as select 1")


def test_crash_between_temp_write_and_replace_keeps_old_file(tmp_path):
    working, published = tmp_path / "w.duckdb", tmp_path / "pub" / "fleetloop.duckdb"
    _working(working, 100)
    publish(working, published, run_id="good")
    _working(working, 999)
    crash = textwrap.dedent(f"""
        import os
        import fleetloop.publish as p
        os.replace = lambda *a, **k: os._exit(9)   # the process dies right before the swap
        p.publish({str(working)!r}, {str(published)!r}, run_id="crashed")
    """)
    proc = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    leftovers = [p for p in published.parent.iterdir() if p.name != published.name]
    assert leftovers, "the crashed publisher should have left its temp file behind"
    assert _count(published) == 100 and publication_info(published)["run_id"] == "good"
    again = publish(working, published, run_id="recovered")
    assert _count(published) == 999 and again.run_id == "recovered"
    assert sorted(p.name for p in published.parent.iterdir()) == [published.name], "stale temp files removed"


def test_publish_without_working_file_is_a_clear_error(tmp_path):
    with pytest.raises(PublishError, match="no working warehouse"):
        publish(tmp_path / "missing.duckdb", tmp_path / "pub.duckdb")
    with pytest.raises(FileNotFoundError, match="nothing published yet"):
        connect_published(tmp_path / "pub.duckdb")
    assert not os.path.exists(tmp_path / "pub.duckdb")
