"""Operating fleetloop: run day partitions through Dagster, publish, report, and the operators' CLI."""
