"""sqlfluff (dbt templater, `.sqlfluff`) finds nothing in models/, macros/ and analyses/.

The templater compiles every model like dbt does, so it needs a profile (written from the settings, as the
pipeline writes it) and the seeds loaded (the per-trigger columns are read from seed trigger_catalog)."""

from __future__ import annotations

import subprocess

from tests.fixtures.warehouse import PROJECT_DIR, VENV_BIN, dbt_profiles_dir, run_dbt, warehouse_settings

LINTED = ("models", "macros", "analyses")


def test_sql_is_lint_clean(tmp_path):
    warehouse = tmp_path / "lint.duckdb"
    run_dbt(["seed"], warehouse)
    env = warehouse_settings(warehouse).subprocess_env() | {
        "DBT_PROFILES_DIR": str(dbt_profiles_dir(warehouse)),
        "DBT_TARGET_PATH": str(tmp_path / "lint_target"),
    }
    proc = subprocess.run([str(VENV_BIN / "sqlfluff"), "lint", *LINTED, "--processes", "1"],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    assert "All Finished" in proc.stdout
