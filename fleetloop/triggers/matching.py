"""Events found versus ground truth: match by vehicle (site for site-wide triggers) and overlapping time
window, per trigger; precision, recall and the unmatched rows on each side."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

SITE_WIDE = ("site_anomaly",)
NO_SLACK = pd.Timedelta(0)


@dataclass
class MatchResult:
    trigger: str
    found: int
    truth: int
    precision: float
    recall: float
    false_positives: pd.DataFrame
    missed: pd.DataFrame

    def __str__(self) -> str:
        return (f"{self.trigger}: precision {self.precision:.3f} ({self.found} found), "
                f"recall {self.recall:.3f} ({self.truth} true)")


def _overlapping(found: pd.DataFrame, truth: pd.DataFrame, key: str, slack: pd.Timedelta) -> pd.DataFrame:
    pairs = found.reset_index(names="f").merge(truth.reset_index(names="t"), on=key, suffixes=("_f", "_t"))
    hit = (pairs["ts_start_f"] <= pairs["ts_end_t"] + slack) & (pairs["ts_end_f"] + slack >= pairs["ts_start_t"])
    return pairs.loc[hit, ["f", "t"]]


def match_events(found: pd.DataFrame, truth: pd.DataFrame, trigger: str,
                 slack: pd.Timedelta = NO_SLACK) -> MatchResult:
    """Precision = share of found events overlapping a true one; recall = share of true events overlapped
    by a found one (both of ``trigger``; windows may be ``slack`` apart and still overlap)."""
    key = "site_id" if trigger in SITE_WIDE else "vehicle_id"
    cols = [key, "ts_start", "ts_end"]
    f = found.loc[found["trigger"] == trigger].reset_index(drop=True)
    t = truth.loc[truth["trigger"] == trigger].reset_index(drop=True)
    pairs = _overlapping(f[cols], t[cols], key, slack)
    precision = pairs["f"].nunique() / len(f) if len(f) else 1.0
    recall = pairs["t"].nunique() / len(t) if len(t) else 1.0
    return MatchResult(trigger, len(f), len(t), precision, recall,
                       f.drop(index=pairs["f"].unique()), t.drop(index=pairs["t"].unique()))
