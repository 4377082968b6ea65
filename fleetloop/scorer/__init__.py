"""Counterfactual scorer: replay a case, search alternative ego trajectories, score them like the field
scores planners (NAVSIM PDMS and friends), keep what beats the log, package it compactly.

Plain library (no Dagster): ``solve(scene)`` on a ``Scene`` built from the warehouse or a CommonRoad file.
"""
