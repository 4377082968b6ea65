"""Reading gate outcomes back from the Dagster instance (for the publish asset and the CLI)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg


@dataclass(frozen=True)
class GateOutcome:
    """One asset-check evaluation of a run."""

    asset: str
    check: str
    passed: bool
    severity: str
    metadata: dict[str, str]

    def describe(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'} {self.asset} :: {self.check}"
        if self.passed:
            return head
        ordered = sorted(self.metadata.items(), key=lambda kv: (kv[0] != "failed", kv[0]))
        details = [f"    {k}: " + v.replace("\n", "\n      ") for k, v in ordered]
        return "\n".join([head, *details])


def _text(value: object) -> str:
    inner = getattr(value, "value", value)
    if isinstance(inner, str):
        return inner
    return str(getattr(inner, "text", inner))


def run_gate_outcomes(instance: dg.DagsterInstance, run_id: str) -> list[GateOutcome]:
    """Every asset-check evaluation recorded for ``run_id``, in event order."""
    records = instance.get_records_for_run(
        run_id=run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    out = []
    for rec in records:
        ev = rec.event_log_entry.dagster_event.event_specific_data
        out.append(
            GateOutcome(
                asset=ev.asset_key.to_user_string(),
                check=ev.check_name,
                passed=ev.passed,
                severity=ev.severity.value,
                metadata={k: _text(v) for k, v in (ev.metadata or {}).items()},
            )
        )
    return out


def blocking_failures(instance: dg.DagsterInstance, run_id: str) -> list[GateOutcome]:
    """The failed checks of ``run_id`` with ERROR severity: any of them forbids publication."""
    return [g for g in run_gate_outcomes(instance, run_id) if not g.passed and g.severity == "ERROR"]


_DBT_LOG = re.compile(r"dbt debug log: (\S+)/dbt\.log")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def dbt_failures(error_text: str, limit: int = 20) -> list[str]:
    """The failed and errored dbt nodes (tests, unit tests, models) of a failed dbt step, from the
    ``run_results.json`` beside the dbt log that dagster-dbt names in its error."""
    match = _DBT_LOG.search(error_text)
    results = Path(match.group(1)) / "run_results.json" if match else None
    if results is None or not results.is_file():
        return []
    out = []
    for node in json.loads(results.read_text())["results"]:
        if node["status"] in ("fail", "error"):
            message = _ANSI.sub("", node.get("message") or "").strip().splitlines()
            out.append(f"dbt {node['status']}: {node['unique_id']}" + (f" ({message[0][:160]})" if message else ""))
    return out[:limit]
