"""The ego's footprint and wheelbase as NAVSIM's tracker, simulator and scorer see it."""

from __future__ import annotations

from dataclasses import dataclass

# nuPlan's get_pacifica_parameters(): the vehicle NAVSIM scores by default.
PACIFICA = {"length_m": 4.049 + 1.127, "width_m": 1.1485 * 2.0, "wheelbase_m": 3.089, "rear_axle_to_center_m": 1.461}


@dataclass(frozen=True)
class VehicleParameters:
    """Box length and width, wheelbase, and the distance from the rear axle forward to the box centre."""

    length_m: float
    width_m: float
    wheelbase_m: float
    rear_axle_to_center_m: float

    @classmethod
    def pacifica(cls) -> VehicleParameters:
        return cls(**PACIFICA)
