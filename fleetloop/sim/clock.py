"""Timestamps of the simulator: integer epoch milliseconds rendered as UTC ISO-8601 strings."""

from __future__ import annotations

import numpy as np


def iso(ms: int | np.integer) -> str:
    """UTC ISO-8601 with milliseconds and Z."""
    return str(np.datetime64(int(ms), "ms")) + "Z"


def iso_array(ms: np.ndarray) -> np.ndarray:
    """Vectorised ``iso``."""
    return np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z")
