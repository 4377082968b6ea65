"""Scorer domain: the nightly counterfactual replay asset."""

from dagster_pipelines.scorer.assets import counterfactual_solutions

scorer_assets = [counterfactual_solutions]
