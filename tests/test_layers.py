"""The layers point one way and configuration is read in one place (checked on the source text)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY, DAGSTER, SHELL = "fleetloop", "dagster_pipelines", "fleetloop_shell"
SETTINGS_EDGE = {Path("fleetloop/settings.py")}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Top-level package names imported anywhere in the module (also inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value.split(".")[0])
    return names


def _offenders(package: str, forbidden: set[str]) -> list[str]:
    return [f"{p.relative_to(ROOT)} imports {', '.join(sorted(_imports(p) & forbidden))}"
            for p in _modules(package) if _imports(p) & forbidden]


def test_library_imports_no_dagster():
    assert _modules(LIBRARY)
    assert _offenders(LIBRARY, {"dagster", "dagster_dbt", DAGSTER, SHELL}) == []


def test_dagster_layer_does_not_import_the_shell():
    assert _modules(DAGSTER)
    assert _offenders(DAGSTER, {SHELL}) == []


def test_environment_is_read_only_at_the_settings_edge():
    """``os.environ`` / ``os.getenv`` appear only in ``fleetloop/settings.py`` among the three layers."""
    pattern = re.compile(r"\bos\.(environ|getenv|putenv|unsetenv)\b")
    found = [str(p.relative_to(ROOT)) for package in (LIBRARY, DAGSTER, SHELL) for p in _modules(package)
             if pattern.search(p.read_text()) and p.relative_to(ROOT) not in SETTINGS_EDGE]
    assert found == []


def test_the_checker_sees_an_offending_import(tmp_path):
    """The import scan is not vacuous: it finds an import inside a function and through import_module."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import dagster\n    importlib.import_module('fleetloop_shell.cli')\n")
    assert _imports(module) >= {"dagster", "fleetloop_shell"}


def test_the_real_recordings_ship_with_the_repository():
    """Tests read the recordings from the repository (with their notices), never from a machine path."""
    from tests.fixtures.commonroad import CR_NGSIM_DIR
    from tests.fixtures.realdata import COMMA2K19_DIR

    for folder in (CR_NGSIM_DIR, COMMA2K19_DIR):
        assert ROOT in folder.resolve().parents and any(folder.rglob("*LICENSE*")), folder
    assert sorted(CR_NGSIM_DIR.glob("*/*.xml")) and (COMMA2K19_DIR / "telemetry_10hz.csv").is_file()
    machine_path = re.compile(r"""["'](/(home|work|Users|mnt|opt)/[^"']+)["']""")
    found = [f"{p.relative_to(ROOT)}: {m.group(1)}" for package in (LIBRARY, DAGSTER, SHELL, "tests", "benchmarks")
             for p in _modules(package) if p.name != "test_layers.py" for m in machine_path.finditer(p.read_text())]
    assert found == []
