"""Example cases of every problem, with the ego's logged path, for the report's problems page
(``ads.ads_problem_example``): the members with the strongest membership, ties by case id."""

from __future__ import annotations

import duckdb

from fleetloop.curriculum.config import CASE_FEATURE_TABLE, EXAMPLE_TABLE, PROBLEM_CASE_TABLE, CurriculumConfig
from fleetloop.curriculum.tables import create_table, row_count
from fleetloop.mining.clips import Padding
from fleetloop.mining.ego_path import with_path_sql

EXAMPLE_COLUMNS = (
    ("problem_id", "BIGINT", "the problem (ads.ads_problem)"),
    ("example_rank", "BIGINT", "1 = the member with the strongest membership"),
    ("case_id", "VARCHAR", "the case (ads.ads_case_feature)"),
    ("vehicle_id", "VARCHAR", "its vehicle"),
    ("site_id", "VARCHAR", "its site"),
    ("vehicle_class", "VARCHAR", "its vehicle class"),
    ("version", "VARCHAR", "its software version"),
    ("trigger_labels", "VARCHAR[]", "its triggers, as the case queue names them"),
    ("ts_start", "TIMESTAMPTZ", "the case window's start, UTC"),
    ("ts_end", "TIMESTAMPTZ", "the case window's end, UTC"),
    ("path", "STRUCT(ts TIMESTAMPTZ, x_m DOUBLE, y_m DOUBLE, heading_rad DOUBLE, speed_mps DOUBLE)[]",
     "the ego's logged 10 Hz pose from example_padding_s before to example_padding_s after the window"),
)


def build_examples(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig) -> dict[str, int]:
    """Replace ``ads.ads_problem_example``: ``cfg.examples_per_problem`` cases of every problem with their path."""
    names = ", ".join(n for n, _, _ in EXAMPLE_COLUMNS)
    members = f"""(
        select m.problem_id, row_number() over (partition by m.problem_id order by m.membership desc, f.case_id)
                   as example_rank,
               f.case_id, f.vehicle_id, f.site_id, f.vehicle_class, f.version, f.trigger_labels, f.ts_start, f.ts_end
        from {PROBLEM_CASE_TABLE} as m inner join {CASE_FEATURE_TABLE} as f using (case_id)
        where m.problem_id is not null
        qualify example_rank <= {int(cfg.examples_per_problem)})"""
    padding = Padding(cfg.example_padding_s, cfg.example_padding_s)
    create_table(con, EXAMPLE_TABLE, EXAMPLE_COLUMNS)
    con.execute(f"insert into {EXAMPLE_TABLE} ({names}) select {names} from "
                f"({with_path_sql(members, 'ts_start', 'ts_end', padding)}) order by problem_id, example_rank")
    return {EXAMPLE_TABLE: row_count(con, EXAMPLE_TABLE)}
