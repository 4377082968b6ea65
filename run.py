#!/usr/bin/env python3
"""Set up fleetloop's virtual environment if needed, then run the main job or the tests.

    python3 run.py demo     # simulate the default fleet, run the whole pipeline, publish, report
    python3 run.py test     # the test suite
    python3 run.py <any fleetloop command and arguments>

Needs only Python 3.11+ and the package index: packages come from requirements.lock.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".fleetloop-installed"


def _fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the locked packages plus fleetloop itself, once per lock change."""
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    if not (BIN / "python").exists():
        print("[fleetloop] creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("[fleetloop] installing locked dependencies (first run takes a few minutes)", flush=True)
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(_fingerprint())


def main(argv: list[str]) -> int:
    ensure_venv()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    # work runs in parallel processes; BLAS threads on top of them only oversubscribe the cores
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    if argv[:1] == ["test"]:
        cmd = [str(BIN / "python"), "-m", "pytest", *argv[1:]]
    else:
        cmd = [str(BIN / "fleetloop"), *(argv or ["--help"])]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
