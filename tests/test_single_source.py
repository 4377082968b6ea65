"""Every threshold and list has one home in the seeds: fails when a copy reappears in the code.

Scanned: the Python tree (``fleetloop/``, ``dagster_pipelines/``, ``fleetloop_shell/``) and the dbt SQL
(``models/``, ``macros/``, comments stripped). A copy of a list is a SQL line naming three or more of its
members as whole quoted strings, or a Python list, tuple or set literal holding three or more of them, each
once (a dict's keys are per-item data with a fallback, a sequence with repeats such as a loop's four sides is
data about something else, prose is prose; a model name such as ``dwd_trg_hard_brake`` is no trigger name). A copy of a
number is a literal of a ``run`` or ``phantom`` seed value in the modules where it used to live, a Python
constant named after one of those parameters, or a dbt var holding a number. The seeds and the tests are
allowed to name what they check. The scorer tables' columns are declared once (``fleetloop.scorer.nightly``)
and DuckDB gets exactly that declaration.
"""

import ast
import csv
import re
from pathlib import Path

import pytest
import yaml

from fleetloop import contract, definitions
from fleetloop.scorer import nightly
from fleetloop.triggers import cases, runs
from fleetloop.triggers.runs import US
from fleetloop.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
PYTHON_TREES = ("fleetloop", "dagster_pipelines", "fleetloop_shell")
SQL_TREES = ("models", "macros")
COPY_MIN_NAMES = 3
# where the sample period, run gap, day margin and phantom thresholds were literals before they moved to the seed
FORMER_HOMES = (*sorted((ROOT / "fleetloop" / "triggers").glob("*.py")), ROOT / "fleetloop" / "scorer" / "triggers.py")
MOVED = {"run": ("sample_period_s", "run_gap_s", "pose_max_gap_s", "day_margin_s"),
         "phantom": ("max_track_s", "max_confidence", "ahead_m")}
TRIVIAL = (0, 1)  # a literal 0 or 1 is arithmetic, not a copy of a threshold that happens to be 1.0
DUCKDB_SPELLING = {"timestamptz": "TIMESTAMP WITH TIME ZONE"}  # how duckdb_columns() names an alias


def _seed_rows(name: str) -> list[dict[str, str]]:
    with (definitions.SEEDS_DIR / f"{name}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _moved_values() -> dict[str, float]:
    """The moved parameters' values from the CSV, read without ``fleetloop.definitions``."""
    return {f"{r['trigger']}_{r['parameter']}": float(r["value"]) for r in _seed_rows("trigger_definitions")
            if r["trigger"] in MOVED and r["parameter"] in MOVED[r["trigger"]]}


def _python_files() -> list[Path]:
    return sorted(p for tree in PYTHON_TREES for p in (ROOT / tree).rglob("*.py"))


def _sql_files() -> list[Path]:
    return sorted(p for tree in SQL_TREES for p in (ROOT / tree).rglob("*.sql"))


def _python_collections(path: Path) -> dict[int, list[str]]:
    """String elements of each list, tuple and set literal of the code, by the literal's first line."""
    out: dict[int, list[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            out.setdefault(node.lineno, []).extend(strings)
    return out


def _sql_strings_by_line(path: Path) -> dict[int, set[str]]:
    """Quoted strings of the SQL per line, without jinja and SQL comments."""
    text = re.sub(r"\{#.*?#\}", lambda m: "\n" * m.group().count("\n"), path.read_text(encoding="utf-8"), flags=re.S)
    return {no: set(re.findall(r"""['"]([^'"]+)['"]""", line.split("--")[0]))
            for no, line in enumerate(text.splitlines(), start=1)}


def _copies(members: set[str]) -> list[str]:
    found = []
    for path in _python_files():
        for no, strings in _python_collections(path).items():
            named = [s for s in strings if s in members]
            if len(set(named)) >= COPY_MIN_NAMES and len(named) == len(set(named)):
                found.append(f"{path.relative_to(ROOT)}:{no}: {sorted(named)}")
    for path in _sql_files():
        found += [f"{path.relative_to(ROOT)}:{no}: {sorted(s & members)}"
                  for no, s in _sql_strings_by_line(path).items() if len(s & members) >= COPY_MIN_NAMES]
    return found


def _numbers(path: Path) -> set[float]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) in (int, float)}


# ---------------------------------------------------------------- the seeds themselves

def test_moved_parameters_are_seed_rows_read_through_definitions():
    moved = _moved_values()
    assert set(moved) == {f"{t}_{p}" for t, params in MOVED.items() for p in params}
    assert definitions.trigger_params("run") == {p: moved[f"run_{p}"] for p in MOVED["run"]}
    assert definitions.trigger_params("phantom") == {p: moved[f"phantom_{p}"] for p in MOVED["phantom"]}
    assert runs.sample_period_s() == moved["run_sample_period_s"]
    assert runs.day_margin_s() == moved["run_day_margin_s"]
    assert {r["vehicle_class"] for r in _seed_rows("trigger_definitions") if r["trigger"] in MOVED} == {"*"}


def test_trigger_definitions_have_one_row_per_key():
    keys = [(r["trigger"], r["vehicle_class"], r["parameter"]) for r in _seed_rows("trigger_definitions")]
    assert len(keys) == len(set(keys))


def test_triggers_are_the_catalog_entries_with_thresholds():
    catalog = [r["trigger"] for r in _seed_rows("trigger_catalog")]
    defined = {r["trigger"] for r in _seed_rows("trigger_definitions")}
    assert definitions.triggers() == [t for t in catalog if t in defined]
    assert not {"run", "phantom", "case", "perception_suspect"} & set(definitions.triggers())
    assert len(definitions.triggers()) == 15  # DOMAIN.md section 3: twelve, and high_interaction as three


def test_road_types_come_from_the_seed():
    assert contract.ROAD_TYPES == tuple(r["road_type"] for r in _seed_rows("road_types"))


# ---------------------------------------------------------------- no copies in the code

def test_no_copy_of_the_trigger_list():
    assert _copies(set(definitions.triggers())) == []


def test_no_copy_of_the_road_type_list():
    assert _copies(set(contract.ROAD_TYPES)) == []


@pytest.mark.parametrize("path", FORMER_HOMES, ids=lambda p: p.name)
def test_no_literal_of_a_moved_value_where_it_used_to_live(path):
    moved = {k: v for k, v in _moved_values().items() if v not in TRIVIAL}
    values = set(moved.values()) | {round(v * US) for k, v in moved.items() if k.endswith("_s")}  # and in microseconds
    assert _numbers(path) & values == set()


def test_no_python_constant_named_after_a_moved_parameter():
    names = {n.upper() for n in _moved_values()} | {p.upper() for params in MOVED.values() for p in params}
    found = [f"{path.relative_to(ROOT)}:{node.lineno} {t.id}" for path in _python_files()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name) and t.id.upper() in names]
    assert found == []


def test_phantom_thresholds_are_not_module_constants():
    assert not [n for n in vars(cases) if n.startswith("PHANTOM_")]


def test_dbt_project_has_no_threshold_vars():
    """Waits for the dbt project: its vars must not carry numbers (they live in seeds/trigger_definitions.csv)."""
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    numeric = {k: v for k, v in (project.get("vars") or {}).items() if isinstance(v, int | float)}
    assert numeric == {}


def test_sql_reads_no_moved_var():
    """Waits for the dbt project: no model or macro reads a moved parameter as a dbt var."""
    moved = "|".join(name for names in MOVED.values() for name in names)
    var = re.compile(rf"""var\(\s*['"](\w*(?:{moved}))['"]""")
    found = [f"{p.relative_to(ROOT)}: {m}" for p in _sql_files() for m in var.findall(p.read_text(encoding="utf-8"))]
    assert found == []


# ---------------------------------------------------------------- the scorer tables' one declaration

def test_scorer_tables_are_created_from_their_declaration(tmp_path):
    day = "2026-01-05"
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create schema scorer")
        con.execute("create table scorer.upload_plan (dt date, case_id varchar)")  # written before the others existed
        con.execute("insert into scorer.upload_plan values ('2026-01-04', 'old')")
        rows = {"solutions": [{"dt": day, "case_id": "c1", "status": "log_best"}], "upload_plan": [],
                "raw_upload_requests": []}
        assert nightly.write_tables(con, day, rows) == {"solutions": 1, "upload_plan": 0, "raw_upload_requests": 0}
        for table, declared in nightly.TABLES.items():
            got = con.execute("select column_name, data_type, comment from duckdb_columns() where "
                              "schema_name = 'scorer' and table_name = ?", [table]).fetchall()
            assert sorted(got) == sorted((c.name, DUCKDB_SPELLING.get(c.duckdb_type, c.duckdb_type.upper()),
                                          c.description) for c in declared)
        assert con.execute("select case_id, kind from scorer.upload_plan").fetchall() == [("old", None)]
        assert con.execute("select case_id, status, n_candidates from scorer.solutions").fetchall() == [
            ("c1", "log_best", None)]
    assert nightly.columns("raw_upload_requests") == ["dt", "case_id", "vehicle_id", "ts_start", "ts_end", "reason",
                                                      "est_bytes"]
    assert {c.name for c in nightly.TABLES["solutions"]} >= {f"{side}_pdms" for side in ("log", "sol")}
