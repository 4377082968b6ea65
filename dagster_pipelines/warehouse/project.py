"""The dbt project as dagster-dbt sees it, its manifest, and the dbt resource built from the settings."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from fleetloop.settings import Settings
from fleetloop.warehouse import write_dbt_profile

PROJECT_DIR = Path(__file__).resolve().parents[2]  # dbt_project.yml, models/, macros/
# the dbt installed beside this interpreter, through ``fleetloop-dbt`` (``fleetloop.runlock.tied_dbt``): killed by
# the kernel when the run that started it dies, so it never outlives the run holding the DuckDB file
DBT_EXECUTABLE = Path(sys.executable).with_name("fleetloop-dbt")


def dbt_project(settings: Settings) -> DbtProject:
    """The fleetloop dbt project with the profile written from ``settings``; its manifest is parsed here under
    ``dagster dev`` (``prepare_if_dev``) and by the shell before a run (``prepare``)."""
    # one manifest per engine (models enabled on one engine only differ), shared by the installations of a checkout
    project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=write_dbt_profile(settings),
                         target_path=Path("target") / settings.engine)
    project.prepare_if_dev()
    return project


def prepare(project: DbtProject) -> Path:
    """Parse the project when its manifest is missing or older than any project file; return the manifest."""
    manifest = project.manifest_path
    inputs = [PROJECT_DIR / "dbt_project.yml", *(p for d in ("models", "macros", "fleetloop/seeds", "tests/dbt",
                                                              "analyses") for p in (PROJECT_DIR / d).rglob("*"))]
    newest = max(p.stat().st_mtime for p in inputs if p.is_file())
    if not manifest.is_file() or manifest.stat().st_mtime < newest:
        dbt_resource(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return manifest


def dbt_resource(project: DbtProject, target: str | None = None) -> DbtCliResource:
    """The dbt CLI resource (key ``dbt``) on the settings' profile (the same warehouse file and bounds), on the
    profile's target (the settings' engine) unless ``target`` names another output."""
    return DbtCliResource(project_dir=project, profiles_dir=str(project.profiles_dir),
                          dbt_executable=str(DBT_EXECUTABLE), target=target)
