"""A day's reconciliation, quarantine and row drops, read from the ODS (``ods.ods_reconciliation``,
``ods.ods_quarantine``, ``ods.ods_load_history``: views over the lake, ``fleetloop.lake``) for the gates and the
operators' ``fleetloop status``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import duckdb

from fleetloop.settings import Settings

# An operator confirms a reload that reads far fewer rows than the previous one with this run tag, which the
# shell's flag sets (an unmounted or half-copied landing must not erase a day unnoticed).
ACCEPT_ROW_DROP_TAG = "fleetloop/accept_row_drop"
ACCEPT_ROW_DROP_FLAG = "--accept-row-drop"


@dataclass(frozen=True)
class Reconciliation:
    """How the rows of one source-day are accounted for: ``rows_read = loaded + quarantined + duplicates``."""

    source: str
    day: dt.date
    files: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    rows_unaccounted: int

    @property
    def quarantine_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    def problems(self, settings: Settings) -> list[str]:
        """Why this source-day must not be published (empty when it may), by the settings' gate thresholds."""
        out = []
        if self.rows_unaccounted:
            out.append(f"{self.rows_unaccounted} rows unaccounted for (read != loaded + quarantined + duplicates)")
        if (self.rows_quarantined > settings.min_quarantined_rows
                and self.quarantine_share > settings.max_quarantine_share):
            out.append(
                f"{self.rows_quarantined} of {self.rows_read} rows quarantined "
                f"({self.quarantine_share:.1%} > {settings.max_quarantine_share:.0%})"
            )
        return out


# the counting fields of a reconciliation (and of the loader's report, which is one)
COUNTS = tuple(f.name for f in dataclasses.fields(Reconciliation) if f.name not in ("source", "day"))
ROW_COUNTS = tuple(name for name in COUNTS if name.startswith("rows_"))

# Where the load's accounting lives: the working warehouse's ODS, or its copy in the published file.
WORKING_RECONCILIATION, PUBLISHED_RECONCILIATION = "ods.ods_reconciliation", "quality.reconciliation"


def day_reconciliation(con: duckdb.DuckDBPyConnection, day: dt.date, source: str | None = None,
                       table: str = WORKING_RECONCILIATION) -> list[Reconciliation]:
    if table not in (WORKING_RECONCILIATION, PUBLISHED_RECONCILIATION):
        raise ValueError(f"not a reconciliation table: {table}")
    rows = con.execute(
        f"""
        select source, dt, sum(files), sum(rows_read), sum(rows_loaded), sum(rows_quarantined),
               sum(rows_duplicate), sum(rows_unaccounted)
        from {table}
        where dt = ? and (? is null or source = ?)
        group by all order by source
        """,
        [day, source, source],
    ).fetchall()
    return [Reconciliation(r[0], r[1], *(int(v or 0) for v in r[2:])) for r in rows]


@dataclass(frozen=True)
class QuarantineGroup:
    source: str
    reason_code: str
    rows: int
    samples: tuple[str, ...]  # "file:line  reason  raw text"


def quarantine_groups(
    con: duckdb.DuckDBPyConnection, day: dt.date, source: str | None = None, samples: int = 3
) -> list[QuarantineGroup]:
    rows = con.execute(
        """
        with quarantined as (
            select source, reason_code, source_file, line_number, reason, raw_text
            from ods.ods_quarantine
            where dt = ? and (? is null or source = ?)
        ), ranked as (
            select *, row_number() over (partition by source, reason_code order by source_file, line_number) as n,
                   count(*) over (partition by source, reason_code) as rows
            from quarantined
        )
        select source, reason_code, any_value(rows),
               list(source_file || ':' || line_number || '  ' || coalesce(reason, '') || '  '
                    || left(coalesce(raw_text, ''), 120) order by n) filter (where n <= ?)
        from ranked group by all order by source, reason_code
        """,
        [day, source, source, samples],
    ).fetchall()
    return [QuarantineGroup(r[0], r[1], int(r[2]), tuple(r[3] or ())) for r in rows]


def published_quarantine_groups(con: duckdb.DuckDBPyConnection, day: dt.date,
                                source: str | None = None) -> list[QuarantineGroup]:
    """The quarantine of a day as the published file holds it: counts per source and reason, no lines."""
    rows = con.execute(
        "select source, reason_code, sum(rows_quarantined) from quality.quarantine_by_reason "
        "where dt = ? and (? is null or source = ?) group by all order by source, reason_code",
        [day, source, source]).fetchall()
    return [QuarantineGroup(r[0], r[1], int(r[2]), ()) for r in rows]


@dataclass(frozen=True)
class RowDrop:
    """The latest load of a source-day read ``share`` fewer rows than the load it is compared with."""

    source: str
    day: dt.date
    rows_before: int
    rows_now: int

    @property
    def share(self) -> float:
        return 1 - self.rows_now / self.rows_before

    def problem(self, settings: Settings) -> str:
        return (f"{self.source} {self.day}: this load read {self.rows_now} rows, {self.share:.0%} fewer than the "
                f"{self.rows_before} of the previous load (more than {settings.max_row_drop_share:.0%}); if the "
                f"landing is complete, confirm with {ACCEPT_ROW_DROP_FLAG} (run tag {ACCEPT_ROW_DROP_TAG}=true)")


def row_drops(con: duckdb.DuckDBPyConnection, day: dt.date, settings: Settings,
              source: str | None = None) -> list[RowDrop]:
    """Source-days whose latest load reads more than ``settings.max_row_drop_share`` fewer rows than the load
    before it, unless the operator confirmed the load. A drop that was not confirmed never becomes the
    reference: rerunning on the same short landing keeps failing until the landing is whole or confirmed."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'ods' "
                         "and table_name = 'ods_load_history'").fetchone()[0]
    if not exists:
        return []
    rows = con.execute(
        "select source, rows_read, row_drop_accepted from ods.ods_load_history "
        "where dt = ? and (? is null or source = ?) order by source, loaded_at",
        [day, source, source]).fetchall()
    reference: dict[str, int] = {}
    latest: dict[str, RowDrop | None] = {}
    for name, rows_read, accepted in rows:
        before = reference.get(name)
        if before and not accepted and rows_read < before * (1 - settings.max_row_drop_share):
            latest[name] = RowDrop(name, day, before, rows_read)
        else:
            reference[name], latest[name] = rows_read, None
    return [d for d in latest.values() if d is not None]
