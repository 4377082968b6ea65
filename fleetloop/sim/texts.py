"""Operator notes and call reasons: keyword notes built from seeds/asr_keywords.csv, plus notes without."""

from __future__ import annotations

import numpy as np

from fleetloop.definitions import read_seed

_ZH_KEYWORD_TEMPLATES = ("前方路口{kw}，已远程接管", "车辆{kw}，人工介入处理", "{kw}，请后台复核")
_EN_KEYWORD_TEMPLATES = ("Vehicle {kw} at the junction, took over", "Possible {kw} event, operator assisted",
                         "Reported {kw}; please review the log")
# Notes that contain none of the keywords (checked by the tests against the seed).
PLAIN_NOTES = (
    ("zh", "施工区域绕行，远程协助通过"),
    ("zh", "装卸点排队，等待后继续"),
    ("zh", "前方车辆缓行，协助变道"),
    ("en", "Assisted around a double-parked van"),
    ("en", "Routine handover at the loading bay"),
    ("en", "Guided through a construction zone"),
)
CALL_REASONS = {
    "call_driver": ("blocked by a parked truck", "route closed, needs manual move", "battery swap requested"),
    "call_guard": ("gate barrier closed", "crowd around the vehicle", "unauthorised rider on cargo box"),
}


def keyword_note(rng: np.random.Generator) -> tuple[str, str, list[str]]:
    """(language, text, tags) of a note with one keyword hit."""
    rows = read_seed("asr_keywords")
    row = rows[int(rng.integers(len(rows)))]
    templates = _ZH_KEYWORD_TEMPLATES if row["language"] == "zh" else _EN_KEYWORD_TEMPLATES
    text = templates[int(rng.integers(len(templates)))].format(kw=row["keyword"])
    return row["language"], text, keyword_tags(text)


def keyword_tags(text: str) -> list[str]:
    """Tags of every keyword in a note (zh exact, en case-insensitive), in seed order."""
    lower = text.lower()
    hits = [r["tag"] for r in read_seed("asr_keywords")
            if (r["keyword"].lower() in lower if r["language"] == "en" else r["keyword"] in text)]
    return list(dict.fromkeys(hits))


def plain_note(rng: np.random.Generator) -> tuple[str, str]:
    return PLAIN_NOTES[int(rng.integers(len(PLAIN_NOTES)))]


def call_reason(call_type: str, rng: np.random.Generator) -> str | None:
    if rng.random() < 0.2:
        return None
    options = CALL_REASONS[call_type]
    return options[int(rng.integers(len(options)))]
