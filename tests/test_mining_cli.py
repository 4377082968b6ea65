"""``fleetloop mine`` on a hand-built published tag store: the clips it prints are the engine's and the plain-loop
oracle's (with the query's tags that hold in each clip), the filter options are the language's filters, the CSV,
Parquet and JSON outputs round-trip, and an unknown tag is a usage error naming the close names."""

from __future__ import annotations

import datetime as dt
import io
import json
import random

import pandas as pd
import pytest

from fleetloop.mining import reference
from fleetloop.mining.cli import WAREHOUSE_STORE, find_clips
from fleetloop.mining.clips import DEFAULT_PADDING, Padding
from fleetloop.mining.engine import mine
from fleetloop.mining.features import FEATURE_COLUMNS, create_feature_table_sql
from fleetloop.mining.language import parse
from fleetloop.mining.store import build_tag_store
from fleetloop.mining.tags import load_tags
from fleetloop.settings import Settings
from fleetloop.warehouse import connect
from fleetloop_shell.cli import main
from tests.fixtures.warehouse import copy_warehouse, run_dbt
from tests.test_mining_store import NEUTRAL

DAY1, DAY2 = dt.date(2026, 9, 2), dt.date(2026, 9, 3)
SECONDS_PER_DAY = 240
VEHICLES = (("v1", "s1"), ("v2", "s1"), ("v3", "s2"))
# feature columns that walk (each flips with FLIP_P per second) and their two values
WALKS = {"light": ("day", "night"), "weather": ("clear", "rain"), "in_junction": (False, True),
         "n_pedestrian_10m": (0, 1), "remote_active": (False, True)}
FLIP_P = 0.12
USED_TAGS = ("night", "rain", "junction", "pedestrian_near", "remote")
# query -> the tags it asks to hold (its matched tags, read off by hand)
QUERIES = {"night and rain and junction and pedestrian_near": ("junction", "night", "pedestrian_near", "rain"),
           "(rain or pedestrian_near) and not remote for at least 3s": ("pedestrian_near", "rain"),
           "rain then junction within 3s": ("junction", "rain")}
BITMAP_QUERY = "(rain or pedestrian_near) and not remote for at least 3s"


def _rows() -> list[dict]:
    rng = random.Random(7)
    rows = []
    for vehicle, site in VEHICLES:
        for day in (DAY1, DAY2):
            state = {k: rng.choice(v) for k, v in WALKS.items()}
            start_s = int(dt.datetime.combine(day, dt.time(20), dt.UTC).timestamp())
            for i in range(SECONDS_PER_DAY):
                if i % 100 == 50:  # a few missing seconds: the store holds only driven seconds
                    continue
                state = {k: (v[1 - v.index(state[k])] if rng.random() < FLIP_P else state[k])
                         for k, v in WALKS.items()}
                rows.append(NEUTRAL | state | {"vehicle_id": vehicle, "site_id": site, "ts_s": start_s + i,
                                               "n_pedestrian_30m": state["n_pedestrian_10m"]})
    return rows


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """An installation whose published file holds a tag store (schema dwd) built from ``_rows``."""
    root = tmp_path_factory.mktemp("mine_home")
    settings = Settings.for_home(root)
    with connect(settings.published, settings) as con:
        con.execute(create_feature_table_sql("features"))
        frame = pd.DataFrame(_rows(), columns=[c.name for c in FEATURE_COLUMNS])  # noqa: F841 (read by DuckDB)
        con.execute("insert into features by name select * from frame")
        con.execute("create schema dwd")
        build_tag_store(con, load_tags(), "features", WAREHOUSE_STORE)
    return root


@pytest.fixture(scope="module")
def oracle_rows(home):
    """The oracle's rows: the used tags of every second from each tag's own rule over the feature table."""
    with connect(Settings.for_home(home).published, read_only=True) as con:
        rules = {t.name: t.rule for t in load_tags() if t.name in USED_TAGS}
        held = {name: set(con.execute(f"select vehicle_id, ts_s from features where {rule}").fetchall())
                for name, rule in rules.items()}
        rows = con.execute("select vehicle_id, ts_s, site_id, route_id, version, vehicle_class from features")
        names = [d[0] for d in rows.description]
        out = [dict(zip(names, r, strict=True)) for r in rows.fetchall()]
    for r in out:
        r["tags"] = {name for name, keys in held.items() if (r["vehicle_id"], r["ts_s"]) in keys}
    return out


def _expected(text: str, rows: list[dict], asked: tuple[str, ...], padding: Padding = DEFAULT_PADDING) -> list[tuple]:
    """(vehicle, site, start_s, end_s, seconds, matched_s, tags) of the oracle's clips of ``text``."""
    query = parse(text, set(USED_TAGS))
    out = []
    for c in reference.clips(query, rows, padding):
        inside = [r for r in rows if r["vehicle_id"] == c["vehicle_id"]
                  and c["clip_start_s"] <= r["ts_s"] <= c["clip_end_s"]]
        tags = sorted(t for t in asked if any(t in r["tags"] for r in inside))
        out.append((c["vehicle_id"], c["site_id"], c["clip_start_s"], c["clip_end_s"], c["seconds"],
                    c["matched_s"], tags))
    return out


def _parse_table(text: str) -> list[tuple]:
    lines = text.strip().splitlines()
    assert lines[0].split()[:6] == ["vehicle", "site", "route", "version", "class", "start"]
    assert lines[-1] == f"{len(lines) - 2} clips"
    out = []
    for line in lines[1:-1]:
        vehicle, site, _route, _version, _cls, d0, t0, d1, t1, seconds, matched, *tags = line.split()
        start, end = (int(dt.datetime.fromisoformat(f"{d}T{t}+00:00").timestamp()) for d, t in ((d0, t0), (d1, t1)))
        out.append((vehicle, site, start, end, int(seconds), int(matched), sorted(tags)))
    return out


@pytest.mark.parametrize("text", QUERIES)
def test_printed_clips_are_the_engines_and_the_oracles(home, oracle_rows, capsys, text):
    assert main(["--home", str(home), "mine", text]) == 0
    printed = _parse_table(capsys.readouterr().out)
    expected = _expected(text, oracle_rows, QUERIES[text])
    assert printed == expected and len(expected) >= 3
    with connect(Settings.for_home(home).published, read_only=True) as con:
        engine = mine(con, text, store=WAREHOUSE_STORE).fetchall()
    assert [(c[0], int(c[1].timestamp()), int(c[2].timestamp()), c[3], c[4]) for c in engine] == [
        (v, s, e, n, m) for v, _, s, e, n, m, _ in printed]


def test_filter_options_padding_and_limit(home, oracle_rows, capsys):
    argv = ["--home", str(home), "mine", "rain and night", "--site", "s1", "--from", DAY2.isoformat(),
            "--padding-s", "0"]
    assert main(argv) == 0
    printed = _parse_table(capsys.readouterr().out)
    expected = _expected(f"rain and night where site = s1 and days {DAY2}", oracle_rows, ("night", "rain"),
                         Padding(0, 0))
    assert printed == expected and {p[0] for p in printed} == {"v1", "v2"}
    assert all(dt.datetime.fromtimestamp(p[2], dt.UTC).date() == DAY2 for p in printed)
    assert all(p[4] == p[3] - p[2] + 1 == p[5] for p in printed)  # no padding: a clip is its matching run
    assert main(argv + ["--limit", "2"]) == 0
    assert _parse_table(capsys.readouterr().out) == expected[:2]
    assert main(["--home", str(home), "mine", BITMAP_QUERY, "--site", "s2", "--from", DAY2.isoformat()]) == 0
    assert _parse_table(capsys.readouterr().out) == _expected(f"{BITMAP_QUERY} where site = s2 and days {DAY2}",
                                                              oracle_rows, QUERIES[BITMAP_QUERY])
    # an option filter joins the query's own where clause
    assert main(["--home", str(home), "mine", "rain and night where vehicle_class = urban_delivery", "--site", "s2",
                 "--padding-s", "0"]) == 0
    assert _parse_table(capsys.readouterr().out) == _expected("rain and night where site = s2", oracle_rows,
                                                              ("night", "rain"), Padding(0, 0))


def test_csv_parquet_and_json_round_trip(home, tmp_path, capsys):
    settings = Settings.for_home(home)
    with connect(settings.published, read_only=True) as con:
        _, clips = find_clips(con, BITMAP_QUERY, Padding())
    frame = pd.DataFrame(clips)
    assert len(frame) >= 3
    base = ["--home", str(home), "mine", BITMAP_QUERY]
    assert main(base + ["--format", "parquet", "--out", str(tmp_path / "c.parquet")]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "c.parquet"), frame, check_dtype=False)
    assert main(base + ["--format", "csv"]) == 0
    got = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    for column in ("clip_start", "clip_end"):
        got[column] = pd.to_datetime(got[column], utc=True)
    pd.testing.assert_frame_equal(got, frame, check_dtype=False)
    assert main(base + ["--format", "json", "--out", str(tmp_path / "c.json")]) == 0
    records = json.loads((tmp_path / "c.json").read_text())
    assert [(r["vehicle_id"], dt.datetime.fromisoformat(r["clip_start"]), r["matched_s"], r["tags"])
            for r in records] == [(c["vehicle_id"], c["clip_start"], c["matched_s"], c["tags"]) for c in clips]
    assert main(base + ["--format", "parquet"]) == 2  # parquet needs a file
    assert "--out" in capsys.readouterr().err


def test_unknown_tag_is_a_usage_error(home, capsys):
    assert main(["--home", str(home), "mine", "night and pedestrain_near"]) == 2
    err = capsys.readouterr().err
    assert "unknown tag 'pedestrain_near'" in err and "pedestrian_near" in err.split("close names:")[1]
    assert main(["--home", str(home), "mine", "night", "--to", DAY1.isoformat()]) == 2
    assert "--to needs --from" in capsys.readouterr().err



def test_the_tag_macro_is_the_bit_test_of_the_tag(home, oracle_rows, tmp_path):
    """``{{ tag('rain') }}`` compiled by dbt against the store's dim_tag selects the seconds where the rule holds."""
    warehouse = copy_warehouse(Settings.for_home(home).published, tmp_path / "wh")
    sql = ("select vehicle_id, ts_s from {{ source('dwd', 'dwd_second_tag') }} s "
           "where {{ tag('rain', 's') }} and not {{ tag('pedestrian_near') }}")
    out = run_dbt(["compile", "--quiet", "--inline", sql], warehouse)
    compiled = out[out.index("select"):]
    with connect(warehouse, read_only=True) as con:
        got = set(con.execute(compiled).fetchall())
    assert got == {(r["vehicle_id"], r["ts_s"]) for r in oracle_rows
                   if "rain" in r["tags"] and "pedestrian_near" not in r["tags"]}
    with pytest.raises(RuntimeError, match="unknown tag 'rian'"):
        run_dbt(["compile", "--quiet", "--inline", "select {{ tag('rian') }}"], warehouse)
