"""Deterministic identifiers shared with the warehouse: md5 of 'key|epoch_ms', first 16 hex digits."""

from __future__ import annotations

import hashlib


def short_id(prefix: str, *parts: object) -> str:
    """``prefix || first 16 hex of md5(parts joined by '|')``, as the SQL ``md5(a || '|' || b)``."""
    return prefix + hashlib.md5("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def case_id(vehicle_id: str, window_start_ms: int) -> str:
    """case_id = 'case_' || first 16 hex of md5(vehicle_id || '|' || epoch_ms(window_start))."""
    return short_id("case_", vehicle_id, window_start_ms)


def event_id(trigger: str, subject: str, ts_start_ms: int) -> str:
    """event_id = 'evt_' || first 16 hex of md5(trigger || '|' || vehicle_id or site_id || '|' ||
    epoch_ms(ts_start))."""
    return short_id("evt_", trigger, subject, ts_start_ms)
