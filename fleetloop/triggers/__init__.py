"""Plain Python/numpy reference implementation of the triggers and of case building.

Independent of the dbt SQL: it reads the ODS tables and follows the brief's trigger semantics literally,
so the warehouse can be checked against it (``fleetloop.triggers.reference.detect_events``).
"""
