"""Fleet simulator: a seeded world, vehicles, injected events and data faults with known truth."""
