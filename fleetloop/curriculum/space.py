"""The case space the clustering works in: one row per case (sorted by case id), one column per feature, every
column in [0, 1] and multiplied by its block's weight (``CurriculumConfig``), so the Euclidean distance is a
weighted mix of

- the triggers (multi-hot, ``trigger:<name>``),
- the window's tag shares of the configured families (``tag:<name>``),
- the site and the vehicle class (one-hot, ``site:<id>``, ``class:<name>``).

Columns are sorted by name: the same cases give the same matrix, whatever order the rows were read in."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from fleetloop.curriculum.config import CASE_FEATURE_TABLE, CASE_TAG_TABLE, CurriculumConfig

TRIGGER, TAG, SITE, CLASS = "trigger:", "tag:", "site:", "class:"


@dataclass(frozen=True)
class CaseSpace:
    """Weighted feature rows of the cases: ``matrix[i]`` is case ``case_ids[i]``."""

    case_ids: tuple[str, ...]
    columns: tuple[str, ...]
    matrix: np.ndarray  # weighted
    raw: np.ndarray  # unweighted, each column in [0, 1]

    def column(self, name: str) -> np.ndarray:
        return self.raw[:, self.columns.index(name)]


def _one_hot(cases: pd.DataFrame, column: str, prefix: str) -> pd.DataFrame:
    values = cases[column].fillna("unknown").astype(str)
    return pd.crosstab(cases["case_id"], prefix + values).clip(upper=1).astype(float)


def case_space(cases: pd.DataFrame, tags: pd.DataFrame, cfg: CurriculumConfig) -> CaseSpace:
    """The space of ``cases`` (case_id, triggers, site_id, vehicle_class) with their ``tags`` (case_id, tag,
    family, share)."""
    cases = cases.sort_values("case_id").reset_index(drop=True)
    index = pd.Index(cases["case_id"], name="case_id")
    exploded = cases[["case_id", "triggers"]].explode("triggers").dropna()
    blocks = [(pd.crosstab(exploded["case_id"], TRIGGER + exploded["triggers"]).clip(upper=1).astype(float),
               cfg.trigger_weight)]
    kept = tags[tags["family"].isin(cfg.tag_families)
                & ~tags["tag"].str.startswith(cfg.excluded_tag_prefixes)]
    if len(kept):
        family_weight = dict(cfg.tag_family_weights)
        for family, rows in kept.groupby("family", sort=True):
            shares = rows.pivot_table(index="case_id", columns=TAG + rows["tag"], values="share", aggfunc="sum")
            blocks.append((shares ** cfg.tag_share_power, cfg.tag_weight * family_weight.get(family, 1.0)))
    blocks += [(_one_hot(cases, "site_id", SITE), cfg.site_weight),
               (_one_hot(cases, "vehicle_class", CLASS), cfg.vehicle_class_weight)]
    frames, weights = [], []
    for frame, weight in blocks:
        frame = frame.reindex(index).fillna(0.0)
        frames.append(frame)
        weights += [weight] * frame.shape[1]
    raw = pd.concat(frames, axis=1)
    order = np.argsort(np.asarray(raw.columns, dtype=str), kind="stable")
    columns = tuple(str(c) for c in np.asarray(raw.columns)[order])
    values = raw.to_numpy(dtype=float)[:, order]
    return CaseSpace(tuple(index), columns, values * np.asarray(weights)[order], values)


def read_case_space(con: duckdb.DuckDBPyConnection, cfg: CurriculumConfig) -> tuple[CaseSpace, pd.DataFrame]:
    """The space of every case of ``ads.ads_case_feature`` and the feature rows themselves (sorted by case id)."""
    cases = con.execute(f"select * from {CASE_FEATURE_TABLE} order by case_id").df()
    cases["triggers"] = cases["triggers"].map(list)
    tags = con.execute(f"select case_id, tag, family, share from {CASE_TAG_TABLE} order by case_id, tag").df()
    return case_space(cases, tags, cfg), cases
