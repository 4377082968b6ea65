"""``fleetloop ui``: ``dagster dev`` on this installation's Dagster instance, so the UI shows its runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster_pipelines.warehouse.project import PROJECT_DIR
from fleetloop.settings import Settings
from fleetloop_shell.runner import prepare_home


def open_ui(settings: Settings, port: int) -> int:
    prepare_home(settings)
    dagster = Path(sys.executable).with_name("dagster")
    print(f"Dagster UI on http://127.0.0.1:{port} (instance {settings.dagster_home}); Ctrl-C stops it", flush=True)
    cmd = [str(dagster), "dev", "-m", "dagster_pipelines.definitions", "-p", str(port)]
    try:
        return subprocess.run(cmd, cwd=PROJECT_DIR, env=settings.subprocess_env()).returncode
    except KeyboardInterrupt:
        return 0
