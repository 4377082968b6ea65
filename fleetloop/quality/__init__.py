"""Data quality: Great Expectations suites in ``expectations/`` validated against DuckDB tables.

``validate_table(con, table, suite_name, where=None)`` returns a ``QualityResult`` naming each failed
expectation with its unexpected count and sample failing rows.
"""

from fleetloop.quality.runner import QualityResult, validate_table

__all__ = ["QualityResult", "validate_table"]
