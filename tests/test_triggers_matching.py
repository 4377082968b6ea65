"""Precision/recall matching of found events against truth, on hand-made windows."""

import pandas as pd

from fleetloop.triggers.matching import match_events

T = pd.Timestamp("2026-11-02 08:00", tz="UTC")


def frame(rows):
    return pd.DataFrame([{"trigger": tr, "vehicle_id": v, "site_id": s, "ts_start": T + pd.Timedelta(seconds=a),
                          "ts_end": T + pd.Timedelta(seconds=b)} for tr, v, s, a, b in rows])


def test_overlap_by_vehicle_and_window():
    truth = frame([("hard_brake", "A", "S", 10, 11), ("hard_brake", "B", "S", 10, 11),
                   ("hard_brake", "A", "S", 50, 51)])
    found = frame([("hard_brake", "A", "S", 11, 12), ("hard_brake", "B", "S", 12, 13), ("stuck", "A", "S", 50, 51)])
    m = match_events(found, truth, "hard_brake")
    assert (m.found, m.truth, m.precision, m.recall) == (2, 3, 0.5, 1 / 3)
    assert m.false_positives["vehicle_id"].tolist() == ["B"]
    assert m.missed["ts_start"].tolist() == [T + pd.Timedelta(seconds=10), T + pd.Timedelta(seconds=50)]
    assert match_events(found, truth, "hard_brake", slack=pd.Timedelta(seconds=1)).precision == 1.0


def test_site_wide_triggers_match_by_site():
    truth = frame([("site_anomaly", None, "S1", 0, 600)])
    found = frame([("site_anomaly", None, "S1", 0, 600), ("site_anomaly", None, "S2", 0, 600)])
    m = match_events(found, truth, "site_anomaly")
    assert (m.precision, m.recall) == (0.5, 1.0)


def test_nothing_found_nothing_true_is_perfect():
    empty = frame([("x", "A", "S", 0, 1)]).iloc[:0]
    m = match_events(empty, empty, "weaving")
    assert (m.precision, m.recall) == (1.0, 1.0)
