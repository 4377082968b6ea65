"""``export_curriculum``: per stage of ``ads.ads_curriculum`` a manifest for a training job, as Parquet (one row
per sample source) and JSON (the stage, its counts, weight and provenance), and an index of the stages.

``<out>/stage_<NN>/manifest.parquet``: ``kind`` ('package': a ScenarioSolutionPair of a member case;
'mined_clip': a clip active mining queued), ``case_id``, ``path`` (the package file; null for a clip: the
replay or the raw upload makes it), ``vehicle_id``, ``ts_start``, ``ts_end`` (UTC), ``dt``, ``weight``.
``manifest.json`` beside it holds the stage row, the item counts and the provenance: the days and the versions of
the data, the publication id (``meta.publication.run_id``) and time. ``<out>/curriculum.json`` lists the stages."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from fleetloop.curriculum.config import CASE_FEATURE_TABLE, CURRICULUM_TABLE, PROBLEM_CASE_TABLE, PROBLEM_TABLE
from fleetloop.curriculum.tables import records
from fleetloop.mining.queue import MINED_TABLE, has_table

MANIFEST_PARQUET, MANIFEST_JSON, INDEX_JSON = "manifest.parquet", "manifest.json", "curriculum.json"
PACKAGE, MINED_CLIP = "package", "mined_clip"
ITEM_COLUMNS = ("kind", "case_id", "path", "vehicle_id", "ts_start", "ts_end", "dt", "weight")
STAGE_DIGITS = 2


def stage_dir(out: Path, stage: int) -> Path:
    return Path(out) / f"stage_{stage:0{STAGE_DIGITS}d}"


def _items(con: duckdb.DuckDBPyConnection, stage: dict) -> pd.DataFrame:
    packages = con.execute(f"""
        select '{PACKAGE}' as kind, f.case_id, f.package_path as path, f.vehicle_id, f.ts_start, f.ts_end, f.dt,
               ?::double as weight
        from {PROBLEM_CASE_TABLE} as p inner join {CASE_FEATURE_TABLE} as f using (case_id)
        where p.problem_id = ? and f.package_path is not null order by f.case_id""",
                           [stage["weight"], stage["problem_id"]]).df()
    frames = [packages]
    if stage["mining_query"] and has_table(con, MINED_TABLE):
        frames.append(con.execute(f"""
            select '{MINED_CLIP}' as kind, case_id, null::varchar as path, vehicle_id, ts_start, ts_end, dt,
                   ?::double as weight
            from {MINED_TABLE} where query = ? order by case_id""", [stage["weight"], stage["mining_query"]]).df())
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True)[list(ITEM_COLUMNS)] if frames else packages[list(ITEM_COLUMNS)]


def _provenance(con: duckdb.DuckDBPyConnection, problem_id: int) -> dict:
    days, versions = con.execute(f"""
        select list_sort(list_distinct(list(dt::varchar))), list_sort(list_distinct(list(version)))
        from {PROBLEM_CASE_TABLE} where problem_id = ?""", [problem_id]).fetchall()[0]
    out = {"days": days or [], "versions": [v for v in (versions or []) if v is not None]}
    if has_table(con, "meta.publication"):
        run_id, at, published_days = con.execute("select run_id, published_at, days from meta.publication"
                                                  ).fetchall()[0]
        out |= {"publication_id": run_id, "published_at": at.isoformat(),
                "published_days": [str(d) for d in published_days]}
    else:
        out |= {"publication_id": None, "published_at": None, "published_days": []}
    return out


def export_curriculum(con: duckdb.DuckDBPyConnection, out: Path) -> list[dict]:
    """Write every stage's manifests under ``out`` and the index; return the index entries."""
    for table in (CURRICULUM_TABLE, PROBLEM_TABLE):
        if not has_table(con, table):
            raise ValueError(f"no {table} in this warehouse: build the curriculum first (fleetloop curriculum build)")
    out = Path(out)
    index = []
    for stage in records(con, f"select * from {CURRICULUM_TABLE} order by stage"):
        folder = stage_dir(out, stage["stage"])
        folder.mkdir(parents=True, exist_ok=True)
        items = _items(con, stage)
        items.to_parquet(folder / MANIFEST_PARQUET, index=False)
        counts = items["kind"].value_counts().to_dict()
        doc = {"stage": stage, "items": {PACKAGE: int(counts.get(PACKAGE, 0)),
                                         MINED_CLIP: int(counts.get(MINED_CLIP, 0))},
               "provenance": _provenance(con, stage["problem_id"]), "manifest": MANIFEST_PARQUET}
        (folder / MANIFEST_JSON).write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        index.append({"stage": stage["stage"], "problem_id": stage["problem_id"], "name": stage["name"],
                      "target_samples": stage["target_samples"], "weight": stage["weight"],
                      "folder": folder.name, **doc["items"]})
    out.mkdir(parents=True, exist_ok=True)
    (out / INDEX_JSON).write_text(json.dumps({"stages": index}, indent=2) + "\n", encoding="utf-8")
    return index
