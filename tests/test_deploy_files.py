"""The cluster deployment files (`deploy/`) parse and name what exists: the dbt profile has what dbt-spark needs
per method and the outputs fleetloop runs, the Dagster instance uses PostgreSQL and a run launcher, the workspace
loads fleetloop's definitions, and the notes list exactly the settings fleetloop reads."""

from __future__ import annotations

import importlib
import importlib.util
import re

import yaml

from fleetloop import settings as settings_module
from fleetloop.spark import LAKE_CONF
from tests.fixtures.warehouse import PROJECT_DIR

DEPLOY = PROJECT_DIR / "deploy"
# dbt-spark's required credentials per connection method (dbt-spark's SparkCredentials validation)
SPARK_METHOD_KEYS = {"thrift": {"host", "port", "schema"}, "http": {"host", "token", "schema"}}


def _yaml(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def test_the_cluster_profile_has_the_engine_outputs_fleetloop_runs():
    profile = _yaml("profiles.yml")["fleetloop"]
    outputs = profile["outputs"]
    assert profile["target"] == "spark" and {"spark", "duckdb"} <= set(outputs)
    for output in outputs.values():
        if output["type"] != "spark":
            continue
        assert SPARK_METHOD_KEYS[output["method"]] <= set(output), output
        assert output["method"] != "http" or {"cluster", "endpoint"} & set(output)
        # macro register_ods_lake reads it: the lake on object storage
        assert output["server_side_parameters"][LAKE_CONF].startswith("s3a://"), output
    assert {o["method"] for o in outputs.values() if o["type"] == "spark"} == set(SPARK_METHOD_KEYS)
    assert outputs["duckdb"]["type"] == "duckdb" and "path" in outputs["duckdb"]


def _class_exists(module_name: str, class_name: str) -> bool | None:
    """Whether ``module_name`` defines ``class_name``; None when its package is not installed here."""
    if importlib.util.find_spec(module_name.split(".")[0]) is None:
        return None
    return hasattr(importlib.import_module(module_name), class_name)


def test_the_dagster_instance_stores_in_postgres_and_launches_runs():
    instance = _yaml("dagster.yaml")
    db = instance["storage"]["postgres"]["postgres_db"]
    assert {"hostname", "username", "password", "db_name"} <= set(db)
    assert all(isinstance(db[k], dict) and db[k]["env"].startswith("DAGSTER_PG_") for k in ("username", "password"))
    # the storage's class (dagster-postgres) and the launcher's (dagster-k8s): checked where installed
    assert _class_exists("dagster_postgres", "DagsterPostgresStorage") in (True, None)
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s.launcher", "K8sRunLauncher")
    assert {"job_image", "instance_config_map", "job_namespace"} <= set(launcher["config"])
    assert _class_exists(launcher["module"], launcher["class"]) in (True, None)
    coordinator = instance["run_coordinator"]
    assert _class_exists(coordinator["module"], coordinator["class"])  # dagster itself is installed here


def test_the_workspace_and_the_image_serve_fleetloops_definitions():
    (location,) = _yaml("workspace.yaml")["load_from"]
    assert location["grpc_server"]["port"] == 4000
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    module = re.search(r'"-m", "([\w.]+)"', dockerfile).group(1)
    assert (PROJECT_DIR / (module.replace(".", "/") + ".py")).is_file()
    assert "requirements.lock" in dockerfile and "python:3.11" in dockerfile


def test_the_notes_list_exactly_the_settings_fleetloop_reads():
    listed = set(re.findall(r"`((?:FLEETLOOP|DAGSTER)_[A-Z_]+)`", (DEPLOY / "README.md").read_text()))
    read = {var for var, _ in settings_module._ENV.values()}
    assert read <= listed
    assert {v for v in listed if v.startswith("FLEETLOOP_")} == {v for v in read if v.startswith("FLEETLOOP_")}
