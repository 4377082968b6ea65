"""Triggers on discrete records: error_burst, takeover, vehicle calls, asr_keyword."""

from __future__ import annotations

import numpy as np

from fleetloop.definitions import read_seed
from fleetloop.triggers.runs import US, Detection, merge_intervals


def error_burst(ts_us: np.ndarray, codes: np.ndarray, module: str, p: dict) -> list[Detection]:
    """>= min_codes codes of one module (one vehicle, sorted by time) within window_s; overlapping bursts
    merge."""
    k = int(p["min_codes"])
    n = ts_us.size - k + 1
    if n <= 0:
        return []
    first = np.flatnonzero(ts_us[k - 1 :] - ts_us[:n] <= p["window_s"] * US)
    out = []
    for s, e, _, _ in merge_intervals(ts_us[first], ts_us[first + k - 1]):
        inside = (ts_us >= s) & (ts_us <= e)
        out.append(Detection(s, e, None, {
            "module": module, "n_codes": int(inside.sum()), "codes": sorted(set(codes[inside].tolist())),
        }))
    return out


def keyword_tags(text: str) -> tuple[list[str], list[str]]:
    """Tags and keywords of the ASR dictionary found in a note (zh as is, en case-insensitive)."""
    folded = text.casefold()
    hits = [r for r in read_seed("asr_keywords")
            if (r["keyword"].casefold() in folded if r["language"] == "en" else r["keyword"] in text)]
    return sorted({r["tag"] for r in hits}), sorted({r["keyword"] for r in hits})
