"""Mined cases: the clips of a mining query queued beside the triggered cases, for the nightly scorer to replay.

``ads.ads_mined_case`` lives in the working warehouse (a table written by ``fleetloop mine --to-queue``, not a dbt
model) with the columns the scorer reads from ``ads.ads_case_queue``. One clip of one query is one case:
``case_id`` is ``mined_`` and a hash of the query text, the vehicle and the clip; queueing the same query again
replaces its cases (the same clips keep their ids) instead of adding them. Its one trigger is ``mined:<query>``.
A mined case ranks after every triggered case of its day: ``mined_rank`` orders the day's mined cases (clip start,
case id) and the scorer's view (``case_queue_sql``) gives it ``queue_rank`` = the day's last triggered rank +
``mined_rank``, so a rebuilt triggered queue never collides with it. It has no trigger of its own to resolve: the
scorer judges it as a scene (``fleetloop.scorer.select``, check ``component_fix``: a solution fails fewer safety,
comfort and compliance components than the log and is worse on none) and replays it from the clip start."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb

from fleetloop.publish import sql_string
from fleetloop.warehouse import insert_rows

TRIGGERED_TABLE = "ads.ads_case_queue"
MINED_TABLE = "ads.ads_mined_case"
CASE_PREFIX = "mined_"
TRIGGER_PREFIX = "mined:"
ACTIONS = ("counterfactual", "raw_upload")  # queue actions a mined case may ask for (seeds/trigger_catalog.csv)
MINED_SEVERITY = 1  # a mined scene is a question, not a known problem: the lowest severity of the seeds
CASE_HASH_HEX = 16

COLUMNS: tuple[tuple[str, str, str], ...] = (  # name, DuckDB type, description
    ("case_id", "varchar", "'mined_' and a hash of the query, the vehicle and the clip (a clip of a query: a case)"),
    ("dt", "date", "UTC day of the clip start"),
    ("vehicle_id", "varchar", "vehicle of the clip"),
    ("site_id", "varchar", "site at the clip's first matching second"),
    ("vehicle_class", "varchar", "vehicle class at the clip's first matching second"),
    ("ts_start", "timestamptz", "first second of the clip, padding included (UTC)"),
    ("ts_end", "timestamptz", "end of the clip's last second, padding included (UTC): ts_end - ts_start = seconds"),
    ("triggers", "varchar[]", "['mined:<query>']"),
    ("replay_triggers", "varchar[]", "the triggers when the action is counterfactual, else empty"),
    ("ops_triggers", "varchar[]", "always empty: a mined scene is no operations matter"),
    ("n_events", "bigint", "warehouse events of the case: none, a mined case comes from tags"),
    ("severity", "integer", "MINED_SEVERITY: a mined scene is a question, not a known problem"),
    ("uncertainty", "double", "planner uncertainty: 0, none is measured for a mined scene"),
    ("priority", "double", "severity x (1 + uncertainty), as in ads.ads_case_queue"),
    ("mined_rank", "bigint", "rank among the day's mined cases (clip start, case id); queue_rank follows the "
                             "day's triggered cases"),
    ("perception_suspect", "boolean", "always false"),
    ("action", "varchar", "'counterfactual' (replayed and scored) or 'raw_upload' (raw sensor window requested)"),
    ("reason", "varchar", "the query and the clip's matching seconds"),
    ("query", "varchar", "the mining query, filters included"),
    ("matched_s", "bigint", "matching seconds of the clip"),
)


def ddl() -> str:
    """``create table if not exists`` of the mined cases, keyed by case id."""
    declared = ", ".join(f"{name} {kind}" + (" primary key" if name == "case_id" else "") for name, kind, _ in COLUMNS)
    return f"create table if not exists {MINED_TABLE} ({declared})"


def trigger_label(query: str) -> str:
    return TRIGGER_PREFIX + normalised(query)


def normalised(query: str) -> str:
    """The query with its whitespace collapsed (the same question, the same case ids)."""
    return " ".join(query.split())


def case_id(query: str, vehicle_id: str, start: dt.datetime, end: dt.datetime) -> str:
    key = f"{normalised(query)}|{vehicle_id}|{start.timestamp():.0f}|{end.timestamp():.0f}"
    return CASE_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:CASE_HASH_HEX]


def is_mined(case: dict) -> bool:
    """Whether a queued case row is a mined case."""
    return str(case["case_id"]).startswith(CASE_PREFIX)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the current database has the table ``schema.table`` (or ``table`` of schema main)."""
    schema, table = name.split(".") if "." in name else ("main", name)
    return bool(con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                            "and schema_name = ? and table_name = ?", [schema, table]).fetchone()[0])


def case_rows(clips: list[dict], query: str, action: str) -> list[dict]:
    """Mined case rows (``COLUMNS`` but ``mined_rank``) of clip rows (``fleetloop.mining.clips.CLIP_COLUMNS``)."""
    if action not in ACTIONS:
        raise ValueError(f"a mined case's action is one of {', '.join(ACTIONS)}, not {action!r}")
    label = trigger_label(query)
    return [{
        "case_id": case_id(query, c["vehicle_id"], c["clip_start"], c["clip_end"]),
        "dt": c["clip_start"].astimezone(dt.UTC).date(), "vehicle_id": c["vehicle_id"], "site_id": c["site_id"],
        "vehicle_class": c["vehicle_class"], "ts_start": c["clip_start"],
        "ts_end": c["clip_end"] + dt.timedelta(seconds=1),
        "triggers": [label], "replay_triggers": [label] if action == "counterfactual" else [], "ops_triggers": [],
        "n_events": 0, "severity": MINED_SEVERITY, "uncertainty": 0.0, "priority": float(MINED_SEVERITY),
        "perception_suspect": False, "action": action,
        "reason": f"{label} ({c['matched_s']} matching s)", "query": normalised(query), "matched_s": c["matched_s"],
    } for c in clips]


def enqueue(con: duckdb.DuckDBPyConnection, query: str, rows: list[dict]) -> int:
    """Replace the mined cases of ``query`` by ``rows`` (``case_rows``) and rank every day's mined cases; return
    the rows written. The caller holds the warehouse's run lock."""
    con.execute("create schema if not exists ads")
    con.execute(ddl())
    for name, _, description in COLUMNS:
        con.execute(f"comment on column {MINED_TABLE}.{name} is {sql_string(description)}")
    con.execute(f"delete from {MINED_TABLE} where query = ?", [normalised(query)])
    names = [name for name, _, _ in COLUMNS if name != "mined_rank"]
    insert_rows(con, MINED_TABLE, names, rows)
    con.execute(f"""
        update {MINED_TABLE} m set mined_rank = r.rank
        from (select case_id, row_number() over (partition by dt order by ts_start, case_id) as rank
              from {MINED_TABLE}) r
        where m.case_id = r.case_id""")
    return len(rows)


def case_queue_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The relation the scorer reads its cases from: the triggered queue, with the mined cases after each day's
    triggered ones (``queue_rank`` = the day's last triggered rank + ``mined_rank``) when any were queued."""
    if not has_table(con, MINED_TABLE):
        return TRIGGERED_TABLE
    return (f"(select * from {TRIGGERED_TABLE} union all by name "
            f"select m.* exclude (mined_rank), coalesce(t.last_rank, 0) + m.mined_rank as queue_rank "
            f"from {MINED_TABLE} m left join (select dt, max(queue_rank) as last_rank from {TRIGGERED_TABLE} "
            f"group by dt) t using (dt))")
