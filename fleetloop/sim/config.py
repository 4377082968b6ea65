"""Simulation configuration and result."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. Output depends only on these fields (``workers`` only changes the speed)."""

    vehicles: int
    days: int
    start: dt.date
    seed: int
    landing: Path
    hours_per_day: float = 12.0
    fault_rate: float = 0.01
    event_rate_scale: float = 1.0
    problem_rate_scale: float = 1.0  # multiplier of the problem families' rates (``problems``); 0 turns them off
    rollout_share: float = 0.4
    vehicles_per_shard: int = 8
    workers: int = 1

    def __post_init__(self) -> None:
        if self.vehicles < 1 or self.days < 1:
            raise ValueError("vehicles and days must be >= 1")
        if not 1.0 <= self.hours_per_day <= 23.0:
            raise ValueError("hours_per_day must be within [1, 23]")
        if not 0.0 <= self.fault_rate <= 0.2:
            raise ValueError("fault_rate must be within [0, 0.2]")
        if self.event_rate_scale < 0 or self.problem_rate_scale < 0 or not 0.0 <= self.rollout_share <= 1.0:
            raise ValueError("event_rate_scale and problem_rate_scale must be >= 0 and rollout_share within [0, 1]")
        if isinstance(self.start, str):
            object.__setattr__(self, "start", dt.date.fromisoformat(self.start))
        object.__setattr__(self, "landing", Path(self.landing))

    @property
    def day_list(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    @property
    def shards(self) -> int:
        return -(-self.vehicles // self.vehicles_per_shard)

    def as_json(self) -> dict:
        """The settings that determine the output (not where it went or how many processes wrote it)."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        del out["landing"], out["workers"]
        return out


@dataclass
class SimResult:
    """Where a simulation wrote its landing files and truth, and how many rows per source."""

    landing: Path
    truth_dir: Path
    config: SimConfig
    days: list[dt.date]
    vehicles: list[dict] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
