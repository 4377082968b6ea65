"""Index enums of the state, box-corner, ego-area and metric arrays (NAVSIM's ``pdm_enums``)."""

from __future__ import annotations

from enum import IntEnum


class StateIndex(IntEnum):
    """Columns of an ego state array (N, T+1, 11); x, y are the rear axle, velocities and accelerations in the
    vehicle frame."""

    X = 0
    Y = 1
    HEADING = 2
    VELOCITY_X = 3
    VELOCITY_Y = 4
    ACCELERATION_X = 5
    ACCELERATION_Y = 6
    STEERING_ANGLE = 7
    STEERING_RATE = 8
    ANGULAR_VELOCITY = 9
    ANGULAR_ACCELERATION = 10


STATE_SIZE = len(StateIndex)
SE2 = slice(StateIndex.X, StateIndex.HEADING + 1)
POINT = slice(StateIndex.X, StateIndex.Y + 1)


class DynamicStateIndex(IntEnum):
    """Columns of the tracker's command array (N, 2)."""

    ACCELERATION_X = 0
    STEERING_RATE = 1


class BBCoordsIndex(IntEnum):
    """The five points of an ego or agent box: four corners, then the centre."""

    FRONT_LEFT = 0
    REAR_LEFT = 1
    REAR_RIGHT = 2
    FRONT_RIGHT = 3
    CENTER = 4


class EgoAreaIndex(IntEnum):
    """Where the ego is at a step: straddling lanes, off the drivable area, outside the route (oncoming)."""

    MULTIPLE_LANES = 0
    NON_DRIVABLE_AREA = 1
    ONCOMING_TRAFFIC = 2


class MultiMetricIndex(IntEnum):
    """Multiplicative metrics of the PDM score."""

    NO_COLLISION = 0
    DRIVABLE_AREA = 1


class WeightedMetricIndex(IntEnum):
    """Weighted metrics of the PDM score."""

    PROGRESS = 0
    TTC = 1
    COMFORTABLE = 2
    DRIVING_DIRECTION = 3
