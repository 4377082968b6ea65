"""What a correct fix is for each behaviour the simulator injects: the label columns of
``_truth/events.parquet`` that the nightly scorer's choices are checked against.

Every truth event belongs to one family (``fix_family``), and the family says

- ``expected_fix``: ``no_brake_needed`` (the brake was for an object that is not there: driving on is
  right), ``smooth_path`` (a smooth path in the lane), ``drive_on`` (move on past where the log stood),
  ``yield`` (a real road user ahead: braking earlier and gentler fixes it, driving through or reaching it
  sooner never does) or ``none`` (no trajectory improves on the log: the driving was right, or the problem is
  not the trajectory's);
- ``expected_route``: where a correct pipeline sends the case: ``counterfactual`` (replayed),
  ``raw_upload`` (the raw sensor window is asked for instead) or ``ops_ticket`` (operations, never replayed).

``obstacle_id`` names the perception object behind the event (the phantom, the cut-in car, the crossing
pedestrian, the vehicle the ego waits behind), null when there is none.
"""

from __future__ import annotations

NO_BRAKE_NEEDED, SMOOTH_PATH, DRIVE_ON, YIELD, NONE = "no_brake_needed", "smooth_path", "drive_on", "yield", "none"
REPLAY, RAW_UPLOAD, OPS_TICKET = "counterfactual", "raw_upload", "ops_ticket"
LABEL_COLUMNS = ("fix_family", "expected_fix", "expected_route", "obstacle_id")

FAMILIES = {  # family -> (trigger, expected_fix, expected_route)
    "phantom_brake": ("hard_brake", NO_BRAKE_NEEDED, RAW_UPLOAD),  # for a short-lived low-confidence object
    "cut_in_brake": ("hard_brake", YIELD, REPLAY),  # for a real car cutting into the lane ahead
    "pedestrian_brake": ("hard_brake", YIELD, REPLAY),  # for a real pedestrian crossing ahead
    "weaving": ("weaving", SMOOTH_PATH, REPLAY),  # yaw-rate swings on a straight, no net turn
    "stuck_clear": ("stuck", DRIVE_ON, REPLAY),  # standing still while driving, nothing ahead
    "stuck_blocked": ("stuck", NONE, REPLAY),  # behind a real vehicle stopped in the lane until it pulls away
    "takeover": ("takeover", NONE, REPLAY),  # ordinary driving while a remote operator holds the vehicle
    "call_driver": ("call_driver", NONE, REPLAY),  # ordinary driving around a call to a remote driver
    "asr_keyword": ("asr_keyword", NONE, REPLAY),  # an operator note with a keyword, ordinary driving
    "uncertainty": ("uncertainty", NONE, REPLAY),  # a flat planner candidate distribution, ordinary driving
    "output_jitter": ("output_jitter", NONE, REPLAY),  # commanded steering flips sign, the driven path is smooth
    "offline": ("offline", NONE, OPS_TICKET),  # a heartbeat gap: connectivity
    "error_burst": ("error_burst", NONE, OPS_TICKET),  # a burst of one module's error codes
    "site_anomaly": ("site_anomaly", NONE, OPS_TICKET),  # a site-wide jam
    "call_guard": ("call_guard", NONE, OPS_TICKET),  # a call to a site guard
}
BRAKE_FAMILIES = {"phantom_obstacle": "phantom_brake", "cut_in": "cut_in_brake",
                  "pedestrian_crossing": "pedestrian_brake"}  # hard-brake cause -> family
BLOCKED_STUCK_SHARE = 0.5  # stuck episodes with a real vehicle stopped ahead


def label(trigger: str, family: str, obstacle_id: str | None = None) -> dict:
    """The label columns of one truth event of ``trigger`` in ``family``."""
    family_trigger, fix, route = FAMILIES[family]
    if family_trigger != trigger:
        raise ValueError(f"family {family!r} labels {family_trigger} events, not {trigger}")
    return {"fix_family": family, "expected_fix": fix, "expected_route": route, "obstacle_id": obstacle_id}
