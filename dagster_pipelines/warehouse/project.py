"""The dbt project as dagster-dbt sees it, and the manifest it needs before definitions load."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

PROJECT_DIR = Path(__file__).resolve().parents[2]
MANIFEST = PROJECT_DIR / "target" / "manifest.json"
# Inputs of `dbt parse`: the manifest is stale when any of them is newer.
_PARSE_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt", "analyses")


def _newest_input_mtime() -> float:
    newest = 0.0
    for name in _PARSE_INPUTS:
        path = PROJECT_DIR / name
        paths = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def prepare_manifest() -> Path:
    """Run `dbt parse` when target/manifest.json is missing or older than the project files; return its path."""
    if MANIFEST.is_file() and MANIFEST.stat().st_mtime >= _newest_input_mtime():
        return MANIFEST
    dbt = shutil.which("dbt")
    if dbt is None:
        raise RuntimeError("dbt not found on PATH (use the project's .venv/bin)")
    proc = subprocess.run(
        [dbt, "parse", "--quiet", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
        cwd=PROJECT_DIR, capture_output=True, text=True, env=os.environ.copy(),
    )
    if proc.returncode != 0 or not MANIFEST.is_file():
        raise RuntimeError(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
    return MANIFEST


def dbt_project() -> DbtProject:
    """The fleetloop dbt project at the repository root (profiles.yml beside dbt_project.yml)."""
    return DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource (key `dbt`); the warehouse file comes from FLEETLOOP_WAREHOUSE via profiles.yml."""
    return DbtCliResource(project_dir=dbt_project(), profiles_dir=str(PROJECT_DIR))
