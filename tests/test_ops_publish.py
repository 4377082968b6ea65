"""Atomic publication: a crash between the temp write and the swap leaves the old file; readers keep reading;
paths that SQL must quote (a single quote) publish; the working file and the key stay private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import duckdb
import pytest

from fleetloop.publish import (
    KEY_BYTES,
    KEY_FILE,
    PublishError,
    clean_stale_temp_files,
    connect_published,
    pseudonym_key,
    publication_info,
    publish,
    restrict_working_files,
    sql_string,
)
from fleetloop.settings import Settings


def _settings(root) -> Settings:
    return Settings.for_home(root)


def _working(settings: Settings, rows: int) -> None:
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema if not exists ods")
    con.execute("create or replace table ods.ods_reconciliation as select date '2026-03-01' as dt, ? as rows_loaded",
                [rows])
    con.execute("create or replace table ods.ods_heartbeat as select range as i from range(?)", [rows])
    con.execute("create schema if not exists ads")
    con.execute("create or replace table ads.facts as select range as i from range(?)", [rows])
    con.close()


def _count(path):
    con = connect_published(path)
    try:
        return con.execute("select count(*) from ads.facts").fetchone()[0]
    finally:
        con.close()


def test_publish_replaces_atomically_and_stamps(tmp_path):
    settings = _settings(tmp_path / "home")
    published = settings.published
    _working(settings, 100)
    first = publish(settings, "run-1")
    assert first.tables == 3 and _count(published) == 100  # ads.facts, quality.reconciliation, meta.publication
    assert first.as_metadata()["days"] == ["2026-03-01"] and first.as_metadata()["run_id"] == "run-1"
    reader = connect_published(published)  # an analyst holding the old publication open
    _working(settings, 250)
    publish(settings, "run-2")
    assert reader.execute("select count(*) from ads.facts").fetchone()[0] == 100  # old inode, no lock error
    reader.close()
    assert _count(published) == 250
    assert publication_info(published) == {
        "run_id": "run-2", "published_at": publication_info(published)["published_at"], "days": ["2026-03-01"]
    }
    assert not (published.stat().st_mode & 0o222), "published file must be read-only"
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(published), read_only=True).execute("create table x as select 1")
    con = connect_published(published)
    try:
        assert not con.execute("select count(*) from duckdb_tables() where schema_name = 'ods'").fetchone()[0]
    finally:
        con.close()


def test_crash_between_temp_write_and_replace_keeps_old_file(tmp_path):
    settings = _settings(tmp_path / "home")
    published = settings.published
    _working(settings, 100)
    publish(settings, "good")
    _working(settings, 999)
    crash = textwrap.dedent(f"""
        import os
        import fleetloop.publish as p
        from fleetloop.settings import Settings
        os.replace = lambda *a, **k: os._exit(9)   # the process dies right before the swap
        p.publish(Settings.for_home({str(settings.home)!r}), "crashed")
    """)
    proc = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    leftovers = [p for p in published.parent.iterdir() if p.name != published.name]
    assert leftovers, "the crashed publisher should have left its temp file behind"
    assert _count(published) == 100 and publication_info(published)["run_id"] == "good"
    again = publish(settings, "recovered")
    assert _count(published) == 999 and again.run_id == "recovered"
    assert sorted(p.name for p in published.parent.iterdir()) == [published.name], "stale temp files removed"


def test_stale_temp_folder_and_wal_of_a_dead_publisher_are_removed(tmp_path):
    published = tmp_path / "pub" / "fleetloop.duckdb"
    published.parent.mkdir()
    dead = 2**22 + 17  # above the kernel's default pid_max: no such process
    temp = published.with_name(f"{published.name}.publishing-{dead}.1")
    for path in (temp, published.with_name(temp.name + ".wal")):
        path.write_bytes(b"x")
    published.with_name(temp.name + ".tmp").mkdir()
    assert len(clean_stale_temp_files(published)) == 3 and not list(published.parent.iterdir())


def test_publish_without_working_file_is_a_clear_error(tmp_path):
    settings = _settings(tmp_path / "home")
    with pytest.raises(PublishError, match="no working warehouse"):
        publish(settings, "manual")
    with pytest.raises(FileNotFoundError, match="nothing published yet"):
        connect_published(settings.published)
    assert not settings.published.exists()


def test_a_path_with_a_single_quote_publishes(tmp_path):
    settings = _settings(tmp_path / "ana's home")
    _working(settings, 7)
    publish(settings, "quoted")
    assert _count(settings.published) == 7


def test_sql_string_doubles_quotes_and_refuses_nul():
    assert sql_string("a'b") == "'a''b'"
    assert duckdb.connect().execute(f"select {sql_string(chr(39) + 'x' + chr(39) + chr(39))}").fetchone()[0] == "'x''"
    with pytest.raises(ValueError, match="NUL"):
        sql_string("a\x00b")


def test_working_files_become_private_but_a_shared_folder_keeps_its_mode(tmp_path):
    settings = _settings(tmp_path / "home")
    _working(settings, 3)
    os.chmod(settings.warehouse, 0o644)
    restrict_working_files(settings)
    assert stat.S_IMODE(settings.warehouse.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.warehouse.parent.stat().st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    elsewhere = settings.replace(warehouse=shared / "w.duckdb")
    elsewhere.warehouse.write_bytes(b"")
    restrict_working_files(elsewhere)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777 and stat.S_IMODE(elsewhere.warehouse.stat().st_mode) == 0o600


def test_pseudonym_key_is_made_once_private_and_a_truncated_key_is_refused(tmp_path):
    settings = _settings(tmp_path / "home")
    key = pseudonym_key(settings)
    assert pseudonym_key(settings) == key and len(key) == KEY_BYTES
    assert stat.S_IMODE(settings.secrets.stat().st_mode) == 0o700
    assert sorted(p.name for p in settings.secrets.iterdir()) == [KEY_FILE]
    os.chmod(settings.secrets / KEY_FILE, 0o600)
    (settings.secrets / KEY_FILE).write_bytes(key[:5])
    with pytest.raises(PublishError, match="restore it"):
        pseudonym_key(settings)
