"""Every constant of the problems and the curriculum, in one frozen dataclass (``CurriculumConfig``), and the names
of the tables they write (schema ``ads``, published with the other ADS tables)."""

from __future__ import annotations

from dataclasses import dataclass

CASE_FEATURE_TABLE = "ads.ads_case_feature"
CASE_TAG_TABLE = "ads.ads_case_tag"
PROBLEM_TABLE = "ads.ads_problem"
PROBLEM_CASE_TABLE = "ads.ads_problem_case"
EXAMPLE_TABLE = "ads.ads_problem_example"
TREND_TABLE = "ads.ads_problem_trend"
VERSION_TABLE = "ads.ads_problem_version"
ALERT_TABLE = "ads.ads_problem_alert"
CURRICULUM_TABLE = "ads.ads_curriculum"
ALL_VERSIONS = "all"  # the version of a trend row that pools every version
GRAINS = ("day", "week")  # trend periods: the UTC day, the ISO week (its Monday)


@dataclass(frozen=True)
class CurriculumConfig:
    """Clustering, naming, matching, trend and curriculum constants (docs/curriculum.md explains each)."""

    # features: tag families whose window shares are clustering features (trigger tags repeat the triggers,
    # operations tags say who drove); tags starting with these prefixes are left out (speed bins)
    tag_families: tuple[str, ...] = ("time_light", "weather", "road_map", "agents", "ego", "perception")
    # the tag block's weight per family, times tag_weight (families not named here: 1)
    tag_family_weights: tuple[tuple[str, float], ...] = (("time_light", 0.5),)  # light varies within a problem
    excluded_tag_prefixes: tuple[str, ...] = ("speed_",)
    # a tag's feature is its window share to this power: below 1 a map feature passed for a few seconds of the
    # window (a crosswalk, a junction) counts nearly as much as one under the whole window; 0 is presence
    tag_share_power: float = 0.5
    # weights of the feature blocks in the distance (each column lies in [0, 1] before weighting)
    trigger_weight: float = 2.5
    tag_weight: float = 1.0
    site_weight: float = 0.25
    vehicle_class_weight: float = 0.25
    # HDBSCAN; a typical problem recurs: below 10 members a cluster is one problem's sub-context (its weather,
    # its road type) and splits it (docs/curriculum.md)
    min_cluster_size: int = 10
    min_samples: int = 3
    cluster_selection: str = "eom"  # HDBSCAN's cluster_selection_method: 'eom' (stable clusters) or 'leaf'
    # the KD-tree's leaf size for the core distances: in ~100 columns a tree barely prunes, and big leaves spend
    # less on the tree; the distances, so the labels, are the same at any leaf size
    leaf_size: int = 4000
    # naming: a trigger is dominant when this share of the members has it; a tag when its mean window share
    # among the members is at least name_tag_share and exceeds its mean over all cases by name_tag_lift
    name_trigger_share: float = 0.5
    name_tag_share: float = 0.5
    name_tag_lift: float = 0.25
    name_max_triggers: int = 2
    name_max_tags: int = 3
    # matching today's clusters to the stored problems: member Jaccard first, then centroid distance
    match_min_jaccard: float = 0.3
    match_max_centroid_distance: float = 0.5
    # trends: a problem's scene (its exposure) is its defining tags of these families, where it can happen; the
    # ego's own state (stopped, turning, fast) and perception are its symptom, and a stopped scene drives no km
    scene_tag_families: tuple[str, ...] = ("time_light", "weather", "road_map", "agents")
    # trends: significance level of the exact tests (as ads_version_compare)
    alpha: float = 0.05
    # curriculum: value = n_cases x mean severity x fix rate; the fix rate is (improved + prior) /
    # (scored + 2 prior), so a problem the scorer has not seen yet counts half
    fix_rate_prior: float = 1.0
    total_target_samples: int = 10_000  # shared by the stages in proportion to their value
    min_stage_samples: int = 100
    max_weight: float = 10.0  # rare and severe problems weighted up to this
    mined_clips_per_problem: int = 50  # active mining fills at most this many clips of a shortfall per run
    mining_padding_s: int = 2
    mining_action: str = "counterfactual"
    # the report's example cases per problem and the ego's path kept around their windows
    examples_per_problem: int = 3
    example_padding_s: int = 2


DEFAULT_CONFIG = CurriculumConfig()
