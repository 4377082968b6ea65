"""Fleet simulator: a seeded world, vehicles, injected events and data faults with known truth.

``simulate(SimConfig(...)) -> SimResult`` writes ``<landing>/<source>/dt=YYYY-MM-DD/...`` and the
ground truth under ``<landing>/_truth/``.
"""

from fleetloop.sim.config import SimConfig, SimResult
from fleetloop.sim.run import simulate

__all__ = ["SimConfig", "SimResult", "simulate"]
