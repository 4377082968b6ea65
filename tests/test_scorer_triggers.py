"""The scorer's vectorised hard_brake and weaving (``fleetloop.scorer.triggers``) against the reference
detectors (``fleetloop.triggers.pose``, the definition) on random signals built to sit on the thresholds:
accelerations at and around the tier limits, runs of exactly the minimum length and one sample either side,
entry speeds at the minimum speed, yaw swings at the swing floor, sign changes at the window's edge, net
turns around the limit and headings wrapping at +-pi. Per trajectory the scorer's hard_brake tier must be
the worst tier among the reference's events and its weaving verdict whether the reference finds an event."""

import numpy as np
import pytest

from fleetloop.definitions import trigger_params, vehicle_classes
from fleetloop.scorer.triggers import TIERS, hard_brake_tier, weaving_fired
from fleetloop.triggers import pose
from fleetloop.triggers.runs import US, min_samples, sample_period_s

SEEDS = range(60)
ROWS = 48  # trajectories per seed
STEPS = 81  # 8 s at 10 Hz, the nightly search's horizon
T0_US = 1_767_225_600_000_000  # 2026-01-01 00:00:00 UTC
NUDGES = (-0.01, -1e-6, 0.0, 0.0, 1e-6, 0.01)  # offsets from a threshold: exactly on it twice as often
CLASSES = sorted(vehicle_classes())


def _ts_us() -> np.ndarray:
    return T0_US + np.arange(STEPS) * round(sample_period_s() * US)


def _brake_signal(rng: np.random.Generator, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Speed and acceleration with one to three braking runs whose levels, lengths and entry speeds sit on
    the thresholds."""
    acc = rng.uniform(p["tier_mild_mps2"] + 0.05, 1.0, STEPS)
    speed = rng.uniform(p["min_speed_mps"] + 0.5, 15.0, STEPS)
    n_min = min_samples(p["min_duration_s"])
    limits = [p["tier_mild_mps2"], p["acc_threshold_mps2"], p["tier_severe_mps2"]]
    for _ in range(rng.integers(1, 4)):
        length = int(rng.choice([n_min - 1, n_min, n_min, n_min + 1, rng.integers(1, 12)]))
        start = int(rng.integers(0, STEPS - length))
        acc[start : start + length] = rng.choice(limits) + rng.choice(NUDGES, length)
        acc[start : start + length] = np.minimum(acc[start : start + length], p["tier_mild_mps2"])
        acc[start + int(rng.integers(0, length))] = rng.choice(limits) + rng.choice(NUDGES)
        speed[start] = p["min_speed_mps"] + rng.choice(NUDGES)
    return speed, acc


def _weave_signal(rng: np.random.Generator, p: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Speed, yaw rate and heading: swings of random length (changes every 0.3 to 2 s, so min_sign_changes
    of them span about window_s), amplitudes and speeds at their floors, a heading drifting so that the
    net turn over a cluster is near its limit, from a base near +-pi."""
    lengths = rng.integers(3, 21, STEPS)
    signs = np.repeat((-1.0) ** np.arange(lengths.size), lengths)[:STEPS]
    amp = p["min_swing_rps"] + rng.choice([*NUDGES, 0.05, 0.1], STEPS)
    quiet = rng.random(STEPS) < 0.05
    yaw = np.where(quiet, 0.0, signs * amp)
    speed = p["min_speed_mps"] + rng.choice([*NUDGES, 2.0, 5.0], STEPS)
    span_steps = round(p["window_s"] / sample_period_s())
    drift = p["max_net_heading_rad"] / span_steps * rng.uniform(0.5, 2.0)
    heading = np.angle(np.exp(1j * (rng.choice([0.0, np.pi - 0.2]) + drift * np.arange(STEPS)
                                    + rng.normal(0.0, 0.01, STEPS))))
    return speed, yaw, heading


def _reference_tier(speed: np.ndarray, acc: np.ndarray, p: dict) -> int:
    tiers = [TIERS.index(d.tier) for d in pose.hard_brake(_ts_us(), speed, acc, p)]
    return max(tiers, default=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_hard_brake_tier_equals_the_reference(seed):
    rng = np.random.default_rng(seed)
    p = trigger_params("hard_brake", CLASSES[seed % len(CLASSES)])
    speed, acc = map(np.array, zip(*[_brake_signal(rng, p) for _ in range(ROWS)], strict=True))
    expected = [_reference_tier(speed[i], acc[i], p) for i in range(ROWS)]
    assert hard_brake_tier(acc, speed, p, sample_period_s()).tolist() == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_weaving_verdict_equals_the_reference(seed):
    rng = np.random.default_rng(seed)
    p = trigger_params("weaving", CLASSES[seed % len(CLASSES)])
    speed, yaw, heading = map(np.array, zip(*[_weave_signal(rng, p) for _ in range(ROWS)], strict=True))
    expected = [bool(pose.weaving(_ts_us(), speed[i], yaw[i], heading[i], p)) for i in range(ROWS)]
    assert weaving_fired(yaw, speed, heading, p, sample_period_s()).tolist() == expected


def test_the_signals_reach_every_outcome():
    """The generators are not vacuous: every tier occurs, weaving fires and does not, and the minimum
    length, the entry speed, the window and the net-turn limit each decide some trajectories."""
    rng = np.random.default_rng(0)
    p = trigger_params("hard_brake")
    speed, acc = map(np.array, zip(*[_brake_signal(rng, p) for _ in range(2000)], strict=True))
    dt = sample_period_s()
    tiers = hard_brake_tier(acc, speed, p, dt)
    assert set(tiers.tolist()) == {0, 1, 2, 3}
    assert (hard_brake_tier(acc, speed, p | {"min_duration_s": dt}, dt) != tiers).any()
    assert (hard_brake_tier(acc, speed, p | {"min_speed_mps": 0.0}, dt) != tiers).any()
    p = trigger_params("weaving")
    speed, yaw, heading = map(np.array, zip(*[_weave_signal(rng, p) for _ in range(2000)], strict=True))
    fired = weaving_fired(yaw, speed, heading, p, dt)
    assert 0.1 < fired.mean() < 0.9
    assert (weaving_fired(yaw, speed, heading, p | {"window_s": 1e9}, dt) != fired).any()
    assert (weaving_fired(yaw, speed, heading, p | {"max_net_heading_rad": np.pi}, dt) != fired).any()


def test_weaving_net_turn_wraps_like_the_reference():
    """Hand case: four swings while the (unwrapped) heading turns through a full circle plus 0.1 rad: the
    net turn is 0.1 rad, within the limit, for both."""
    p = trigger_params("weaving")
    yaw = 0.2 * np.repeat((-1.0) ** np.arange(5), 10)[None]  # changes at samples 10, 20, 30, 40
    heading = np.linspace(0.0, (2 * np.pi + 0.1) * 50 / 30, 50)[None]  # 2 pi + 0.1 rad from sample 10 to 40
    speed = np.full_like(yaw, 8.0)
    assert len(pose.weaving(_ts_us()[:50], speed[0], yaw[0], heading[0], p)) == 1
    assert weaving_fired(yaw, speed, heading, p, sample_period_s())[0]
