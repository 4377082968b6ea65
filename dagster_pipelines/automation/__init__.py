"""Automation: raw landing assets, the nightly schedule, the late-data sensor and backfill helpers."""
