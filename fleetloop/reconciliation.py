"""A day's reconciliation and quarantine, read from the ODS tables (``ods.ods_reconciliation``,
``ods.ods_quarantine``) for the gates and the operators' ``fleetloop status``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from fleetloop.settings import Settings


@dataclass(frozen=True)
class Reconciliation:
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


def day_reconciliation(con: duckdb.DuckDBPyConnection, day: dt.date, source: str | None = None) -> list[Reconciliation]:
    rows = con.execute(
        """
        select source, dt, sum(files), sum(rows_read), sum(rows_loaded), sum(rows_quarantined),
               sum(rows_duplicate), sum(rows_unaccounted)
        from ods.ods_reconciliation
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
