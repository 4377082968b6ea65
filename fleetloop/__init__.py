"""fleetloop: a batch data warehouse for the data closed loop of an L4 autonomous-driving fleet."""

__version__ = "0.1.0"
