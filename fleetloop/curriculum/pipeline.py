"""One run of the problems and the curriculum over the warehouse open on ``con``: case features, problems with
stable ids, trends, the curriculum with active mining. The Dagster assets and ``fleetloop curriculum build`` call
these steps."""

from __future__ import annotations

import duckdb

from fleetloop.curriculum.active_mining import mine_shortfalls
from fleetloop.curriculum.config import CURRICULUM_TABLE, DEFAULT_CONFIG, CurriculumConfig
from fleetloop.curriculum.examples import build_examples
from fleetloop.curriculum.features import build_case_features
from fleetloop.curriculum.problems import build_problems
from fleetloop.curriculum.stages import build_curriculum
from fleetloop.curriculum.trends import build_trends


def problems_step(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig = DEFAULT_CONFIG) -> dict[str, int]:
    return build_case_features(con) | build_problems(con, cfg) | build_examples(con, cfg)


def curriculum_step(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig = DEFAULT_CONFIG) -> dict[str, int]:
    """Stages sized, their shortfalls mined, stages recounted with the mined clips."""
    mined = mine_shortfalls(con, build_curriculum(con, cfg), cfg)
    return {CURRICULUM_TABLE: len(build_curriculum(con, cfg)), "mined_clips": sum(mined.values())}


def run_all(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig = DEFAULT_CONFIG) -> dict[str, int]:
    return problems_step(con, cfg) | build_trends(con, cfg) | curriculum_step(con, cfg)
