"""Routing and upload ranking.

What a case gets is declared per trigger in ``seeds/trigger_catalog.csv`` (``ads.ads_case_queue.action``):
perception-suspect cases ('raw_upload') ask for the raw sensor window instead of a counterfactual (seed 000:
the sandbox is only as good as perception); operations triggers ('ops_ticket') are tickets in
``ads.ads_ops_queue`` and never reach the scorer or the upload plan. Packages and raw requests are then
ranked for the nightly upload by value = severity x uncertainty x improvement and taken greedily in that
order while they fit the byte budget. Uncertainty is floored at ``UNCERTAINTY_FLOOR`` so that a case the
model was sure about still ranks by severity and improvement; a raw request's improvement is
``RAW_IMPROVEMENT`` (it is a question, not an answer).
"""

from __future__ import annotations

from dataclasses import dataclass

# Seed 000: ~100 MB for 10 s of 8 x 1080p video.
RAW_SENSOR_BYTES_PER_S = 10_000_000
UNCERTAINTY_FLOOR = 0.1
RAW_IMPROVEMENT = 1.0


@dataclass(frozen=True)
class RawUploadRequest:
    case_id: str
    vehicle_id: str
    ts_start: object
    ts_end: object
    reason: str
    est_bytes: int


def raw_upload_request(case: dict) -> RawUploadRequest:
    """The raw-upload request for a perception-suspect case row of ``ads.ads_case_queue``."""
    seconds = max((case["ts_end"] - case["ts_start"]).total_seconds(), 0.0)
    return RawUploadRequest(case["case_id"], case["vehicle_id"], case["ts_start"], case["ts_end"],
                            case.get("reason") or "perception suspect", int(seconds * RAW_SENSOR_BYTES_PER_S))


def upload_value(severity: float, uncertainty: float, improvement: float) -> float:
    return float(severity) * max(float(uncertainty or 0.0), UNCERTAINTY_FLOOR) * max(float(improvement), 0.0)


def plan_uploads(items: list[dict], budget_bytes: int) -> list[dict]:
    """Rank items (case_id, kind, bytes, severity, uncertainty, improvement) by value, then greedily
    select while the budget lasts. Returns rows with value, rank, selected and cumulative bytes."""
    rows = [dict(it, value=upload_value(it["severity"], it["uncertainty"], it["improvement"])) for it in items]
    rows.sort(key=lambda r: (-r["value"], r["bytes"], r["case_id"]))
    used = 0
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        row["selected"] = row["value"] > 0 and used + row["bytes"] <= budget_bytes
        used += row["bytes"] if row["selected"] else 0
        row["cumulative_bytes"] = used
    return rows
