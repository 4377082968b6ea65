"""Raw sources of the simulated fleet: clean rows satisfy the contract, every labelled fault is really
there (and is the only thing wrong with its row), file layout and formats, and the event-related extras
(perception objects, incidents, versions)."""

import datetime as dt
import gzip
import json
import zlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from fleetloop.contract import INCIDENT_CATEGORIES, MAX_SPEED_MPS, SOURCES
from fleetloop.paths import landed_days, raw_files
from fleetloop.sim.faults import OUT_OF_ORDER_SHIFT
from fleetloop.sim.texts import PLAIN_NOTES, keyword_tags
from tests.fixtures.sim import clean_json_rows, clean_parquet, read_lines

JSON_SOURCES = [s for s in SOURCES.values() if s.default_format == "jsonl"]
PARQUET_SOURCES = [s for s in SOURCES.values() if s.default_format == "parquet"]
NUMBER_TYPES = {"DOUBLE": (int, float), "BIGINT": int}  # JSON values each numeric type accepts


def _ts_ok(value) -> bool:
    try:
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return t.tzinfo is not None


def _value_errors(source, rec: dict) -> list[str]:
    """What is wrong with one parsed JSON row under the contract (empty when it is valid)."""
    errors = []
    for f in source.fields:
        if f.name not in rec:
            errors.append(f"missing_field:{f.name}")
            continue
        v = rec[f.name]
        if v is None:
            if not f.nullable:
                errors.append(f"null:{f.name}")
            continue
        if f.is_timestamp:
            ok = isinstance(v, str) and _ts_ok(v)
        elif f.type in NUMBER_TYPES:
            ok = isinstance(v, NUMBER_TYPES[f.type]) and not isinstance(v, bool)
        elif f.type == "BOOLEAN":
            ok = isinstance(v, bool)
        else:
            ok = isinstance(v, str)
        if not ok:
            errors.append(f"wrong_type:{f.name}")
            continue
        if f.allowed and v not in f.allowed:
            errors.append(f"unknown_enum:{f.name}")
        if f.minimum is not None and v < f.minimum or f.maximum is not None and v > f.maximum:
            errors.append(f"out_of_range:{f.name}")
    return errors


def _loads(line: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


@pytest.fixture(scope="module")
def faults(sim_fleet):
    return pd.read_parquet(sim_fleet.truth_dir / "faults.parquet")


def test_layout_and_formats(sim_fleet):
    landing = sim_fleet.landing
    assert landed_days(landing) == sim_fleet.days
    for source in SOURCES.values():
        files = [p for d in sim_fleet.days for p in raw_files(landing, source.name, d)]
        assert files, source.name
        suffixes = {p.name.split(".", 1)[1] for p in files}
        expected = {"parquet"} if source.default_format == "parquet" else {"jsonl", "jsonl.gz"}
        assert suffixes <= expected, (source.name, suffixes)
    assert any(p.name.endswith(".jsonl.gz") for p in raw_files(landing, "heartbeat", sim_fleet.days[0]))
    for name in ("events", "faults", "distance", "incidents", "scene_seconds", "scenes"):
        assert (sim_fleet.truth_dir / f"{name}.parquet").is_file()
    fleet = json.loads((sim_fleet.truth_dir / "fleet.json").read_text())
    assert len(fleet["vehicles"]) == 12 and fleet["config"]["seed"] == 7
    assert {d["version"] for d in fleet["deployments"]} == {"v3.2.0", "v3.3.0"}


@pytest.mark.parametrize("source", [s.name for s in JSON_SOURCES])
def test_clean_json_rows_satisfy_the_contract(sim_fleet, source):
    rows = clean_json_rows(sim_fleet, source)
    assert len(rows) > 0
    src = SOURCES[source]
    for f in src.fields:
        col = rows[f.name]
        present = col.notna()
        assert f.nullable or present.all(), f.name
        values = col[present]
        if f.is_timestamp:
            assert values.map(lambda v: isinstance(v, str) and _ts_ok(v)).all(), f.name
        elif f.type in NUMBER_TYPES:
            types = NUMBER_TYPES[f.type]
            assert values.map(lambda v, types=types: isinstance(v, types) and not isinstance(v, bool)).all(), f.name
            assert values.between(f.minimum if f.minimum is not None else -np.inf,
                                  f.maximum if f.maximum is not None else np.inf).all(), f.name
        elif f.type == "BOOLEAN":
            assert values.map(lambda v: isinstance(v, bool)).all(), f.name
        else:
            assert values.map(lambda v: isinstance(v, str)).all(), f.name
        if f.allowed:
            assert values.isin(f.allowed).all(), f.name
    # rows sit in the partition of their own day, primary keys are unique
    day = pd.to_datetime(rows[src.partition_ts], utc=True).dt.date.astype(str)
    assert (rows["_file"].str.extract(r"dt=(\d{4}-\d{2}-\d{2})")[0] == day).all()
    assert not rows.duplicated(list(src.primary_key)).any()


@pytest.mark.parametrize("source", [s.name for s in PARQUET_SOURCES])
def test_clean_parquet_rows_satisfy_the_contract(sim_fleet, source):
    src = SOURCES[source]
    table = clean_parquet(sim_fleet, source)
    assert table.column_names == src.columns
    for f in src.fields:
        col = table.column(f.name)
        assert col.null_count == 0 or f.nullable, f.name
        if f.type == "DOUBLE":
            v = col.to_numpy()
            assert np.isfinite(v).all(), f.name
            if f.minimum is not None:
                assert v.min() >= f.minimum and v.max() <= f.maximum, f.name
        elif f.allowed:
            assert set(col.unique().to_pylist()) <= set(f.allowed) | {None}, f.name
        elif f.is_timestamp:
            assert str(col.type) == "timestamp[ms, tz=UTC]"
    if source == "planner_debug":
        scores = table.column("candidate_scores").combine_chunks()
        assert (np.diff(scores.offsets.to_numpy()) == 5).all()
        s = scores.values.to_numpy().reshape(-1, 5)
        assert (s >= 0).all() and (s <= 1).all() and (np.diff(s, axis=1) <= 0).all()
    keys = table.select(list(src.primary_key)).to_pandas()
    assert not keys.duplicated().any()


def test_every_labelled_fault_is_there(sim_fleet, faults):
    landing = sim_fleet.landing
    assert set(faults["fault_class"]) == {"duplicate", "out_of_order", "malformed_json", "missing_field",
                                          "wrong_type", "unknown_enum", "unit_error", "clock_skew",
                                          "late_file", "truncated_gzip", "empty_file"}
    assert set(faults.loc[faults["source"] == "pose", "fault_class"]) == {"duplicate", "out_of_order"}
    assert (faults["source"] != "heartbeat").sum() > faults["source"].eq("pose").sum()  # event sources too
    assert not faults.duplicated(["file", "line_number"]).any(), "one fault per row"
    lines_cache = {}
    for f in faults.itertuples():
        path = landing / f.file
        day = f.dt
        reason = f.expected_reason_code
        if f.fault_class in ("duplicate", "out_of_order", "late_file"):
            assert f.expected_handling == ("duplicate" if f.fault_class == "duplicate" else "load")
            assert pd.isna(reason)
        else:
            assert f.expected_handling == "quarantine" and reason == f.fault_class
        if f.line_number == 0:
            data = path.read_bytes()
            if f.fault_class == "empty_file":
                assert data == b""
            elif f.fault_class == "truncated_gzip":
                with pytest.raises((EOFError, zlib.error, OSError)):
                    gzip.decompress(data)
            else:
                assert f.fault_class == "late_file" and path.name.startswith("late-")
                ts = [json.loads(line)["ts"][:10] for line in read_lines(path) if line.startswith("{\"ts")]
                assert ts and set(ts) == {day.isoformat()}
            continue
        if f.source == "pose":
            if f.file not in lines_cache:
                lines_cache[f.file] = pq.read_table(path, columns=["vehicle_id", "ts"]).to_pandas()
            table = lines_cache[f.file]
            row, prev = table.iloc[f.line_number - 1], table.iloc[f.line_number - 2]
            if f.fault_class == "duplicate":
                assert (row == prev).all()
            else:
                assert row["vehicle_id"] == prev["vehicle_id"] and row["ts"] < prev["ts"]
            continue
        if f.file not in lines_cache:
            lines_cache[f.file] = read_lines(path)
        lines = lines_cache[f.file]
        line = lines[f.line_number - 1]
        src = SOURCES[f.source]
        if f.fault_class == "malformed_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
            continue
        rec = json.loads(line)
        errors = _value_errors(src, rec)
        ts = rec.get(src.partition_ts)
        if f.fault_class == "duplicate":
            assert line in lines[: f.line_number - 1] and not errors
        elif f.fault_class == "out_of_order":
            # released after the rows that followed it: a later row of its vehicle, or (it was among its vehicle's
            # last rows) only rows of the vehicles written after it
            jumped = [r for r in (_loads(x) for x in lines[max(0, f.line_number - 1 - OUT_OF_ORDER_SHIFT):
                                                            f.line_number - 1])
                      if isinstance(r, dict) and isinstance(r.get("vehicle_id"), str)]
            same = [r for r in jumped
                    if r["vehicle_id"] == rec["vehicle_id"] and isinstance(r.get(src.partition_ts), str)]
            assert not errors and jumped
            assert max(r[src.partition_ts] for r in same) > ts if same else all(
                r["vehicle_id"] > rec["vehicle_id"] for r in jumped)
        elif f.fault_class == "clock_skew":
            assert not errors and ts[:10] != day.isoformat()
        elif f.fault_class == "unit_error":
            assert f.source == "heartbeat" and not errors or errors == ["out_of_range:speed_mps"]
            prev, nxt = json.loads(lines[f.line_number - 2]), json.loads(lines[f.line_number])
            assert rec["speed_mps"] > 1.5 * max(prev["speed_mps"], nxt["speed_mps"], 3.0 * 1.0)
            assert rec["speed_mps"] >= 3.0 * 3.6 - 1e-6 or rec["speed_mps"] > MAX_SPEED_MPS
        else:
            assert [e.split(":")[0] for e in errors] == [f.fault_class], (f.file, f.line_number, errors)


def test_perception_objects_in_case_windows_and_phantoms(sim_fleet, sim_clean):
    truth = pd.read_parquet(sim_fleet.truth_dir / "events.parquet")
    objects = clean_parquet(sim_fleet, "perception_objects").to_pandas()
    assert {"car", "truck", "pedestrian", "cyclist", "tricycle"} <= set(objects["class"])
    life = objects.groupby("object_id")["ts"].agg(lambda s: (s.max() - s.min()).total_seconds() + 0.1)
    objects["life_s"] = objects["object_id"].map(life)
    pose = sim_clean["pose"].set_index(["vehicle_id", "ts"])[["x_m", "y_m", "heading_rad"]]
    obj = objects.join(pose, on=["vehicle_id", "ts"], rsuffix="_ego")
    dx, dy = obj["x_m"] - obj["x_m_ego"], obj["y_m"] - obj["y_m_ego"]
    ahead = dx * np.cos(obj["heading_rad_ego"]) + dy * np.sin(obj["heading_rad_ego"])
    obj["phantom_like"] = ((obj["life_s"] < 1.0) | (obj["confidence"] < 0.5)) & (ahead > 0) & (ahead <= 30)
    brakes = truth[truth["trigger"] == "hard_brake"]
    for row in brakes.itertuples():
        window = obj[(obj["vehicle_id"] == row.vehicle_id) & (obj["ts"] >= row.ts_start - pd.Timedelta(seconds=10))
                     & (obj["ts"] <= row.ts_end + pd.Timedelta(seconds=5))]
        assert len(window) > 0
        assert window["phantom_like"].any() == (row.cause == "phantom_obstacle"), row.truth_id
    # nothing phantom-like around events that are not phantom brakes
    phantom_ids = set(objects.loc[objects["confidence"] < 0.5, "object_id"])
    assert all(i.endswith("-ph") for i in phantom_ids)


def test_incidents_cover_every_category(sim_fleet):
    incidents = clean_json_rows(sim_fleet, "incident").drop_duplicates("incident_id")
    assert set(incidents["category"]) == set(INCIDENT_CATEGORIES)
    falls = incidents[incidents["category"] == "vru_fall_no_contact"]
    assert (falls["at_fault"] == "ours").all() and (~falls["police_report"].astype(bool)).all()
    truth = pd.read_parquet(sim_fleet.truth_dir / "incidents.parquet")
    assert set(truth["incident_id"]) == set(incidents["incident_id"])
    linked = truth.dropna(subset=["related_truth_id"])
    events = pd.read_parquet(sim_fleet.truth_dir / "events.parquet").set_index("truth_id")
    assert len(linked) == len(falls) and (events.loc[linked["related_truth_id"], "cause"] == "phantom_obstacle").all()
    assert {"ours", "other"} <= set(incidents["at_fault"])


def test_versions_roll_out_mid_period(sim_fleet):
    truth = pd.read_parquet(sim_fleet.truth_dir / "distance.parquet")
    first, last = sim_fleet.days[0], sim_fleet.days[-1]
    assert set(truth.loc[truth["dt"] == first, "version"]) == {"v3.2.0"}
    last_versions = truth[truth["dt"] == last].groupby("vehicle_id")["version"].first()
    assert 0 < (last_versions == "v3.3.0").sum() < len(last_versions)
    fleet = json.loads((sim_fleet.truth_dir / "fleet.json").read_text())
    rates = fleet["event_rates_per_driving_hour"]
    assert rates["v3.3.0"]["hard_brake_phantom"] < rates["v3.2.0"]["hard_brake_phantom"]


def test_plain_notes_have_no_keywords():
    assert all(keyword_tags(text) == [] for _, text in PLAIN_NOTES)
    assert keyword_tags("Possible PHANTOM BRAKE event") == ["phantom_brake"]
