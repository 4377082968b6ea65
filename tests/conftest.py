"""Shared fixtures: a simulated test fleet, its ODS load and its dbt build, each built once per session."""

pytest_plugins = [
    "tests.fixtures.sim",
    "tests.fixtures.ods",
    "tests.fixtures.warehouse",
    "tests.fixtures.spark",
]
