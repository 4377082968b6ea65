"""Weather and light of one site-day, the body sensors that see them, and the vehicle's on-board classification.

A site-day has weather episodes (rain, fog, snow) inside its operating hours, clear otherwise; light follows
the sun at the site (a simple solar-elevation model). Every vehicle of the site reads the same conditions
through its own sensors: rain sensor (% wet), automatic wiper level, ambient light (lux), camera visibility
estimate (m) and outside temperature (degrees C). ``classify_weather`` and ``classify_light`` are the on-board
logic that turns the sensor values into the uploaded labels; their thresholds live here and nowhere else.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from fleetloop.contract import LIGHT_LABELS, WEATHER_LABELS

# on-board classification (rain-light sensor module and automatic wiper/headlamp logic)
WET_MIN_PCT = 10.0  # rain sensor: wet windscreen from here
SNOW_MAX_TEMP_C = 0.5  # precipitation at or below this outside temperature is snow
FOG_MAX_VISIBILITY_M = 500.0  # dry and visibility below this: fog
WIPER_STEPS_PCT = (WET_MIN_PCT, 30.0, 60.0)  # wiper level 1 (interval), 2 (low), 3 (high) from these
DAY_MIN_LUX = 1000.0
NIGHT_MAX_LUX = 10.0

# simulated conditions
EPISODE_MINUTES = (25.0, 90.0)
CLIMATES = {  # city -> (November base temperature (C), weather kinds of its episodes with weights)
    "beijing": (3.0, {"rain": 0.4, "snow": 0.3, "fog": 0.3}),
    "suzhou": (13.0, {"rain": 0.75, "fog": 0.25}),
    "shenzhen": (22.0, {"rain": 0.9, "fog": 0.1}),
    "guangzhou": (21.0, {"rain": 0.85, "fog": 0.15}),
    "shanghai": (14.0, {"rain": 0.75, "fog": 0.25}),
    "wuhan": (11.0, {"rain": 0.6, "fog": 0.4}),
}
SENSOR_RANGES = {  # weather -> (rain sensor %, visibility m)
    "clear": ((0.0, 3.0), (3000.0, 10000.0)),
    "rain": ((25.0, 85.0), (800.0, 4000.0)),
    "fog": ((0.0, 4.0), (60.0, 300.0)),
    "snow": ((15.0, 50.0), (600.0, 2000.0)),
}
RAIN_MIN_TEMP_C = 3.0  # it rains only above this, it snows only below -SNOW_OFFSET_C
SNOW_OFFSET_C = 1.5
LUX_DIMMING = {"clear": 1.0, "rain": 0.3, "fog": 0.4, "snow": 0.5}
TWILIGHT_LUX = 400.0  # at sunset; falls tenfold every TWILIGHT_DECADE_DEG of solar depression
TWILIGHT_DECADE_DEG = 3.0
SUN_LUX = 120000.0  # at the zenith, clear sky
NIGHT_FLOOR_LUX = 0.5
LUX_NOISE = 0.03  # relative, per second


def episodes(rng: np.random.Generator, city: str, window_s: tuple[int, int]) -> list[tuple[int, int, str]]:
    """Weather episodes (start s, end s after 00:00 UTC, kind) of a site-day inside its operating window: a rain
    episode and one of the climate's kinds (dropped when the two would overlap)."""
    _, kinds = CLIMATES[city]
    lo, hi = window_s
    out: list[tuple[int, int, str]] = []
    for n in range(2):
        kind = "rain" if n == 0 else str(rng.choice(list(kinds), p=np.array(list(kinds.values()))))
        length = int(rng.uniform(*EPISODE_MINUTES) * 60)
        start = int(rng.integers(lo, max(lo + 1, hi - length)))
        if all(start >= b or start + length <= a for a, b, _ in out):
            out.append((start, start + length, kind))
    return sorted(out)


def weather_at(seconds: np.ndarray, eps: list[tuple[int, int, str]]) -> np.ndarray:
    """True weather at each second after 00:00 UTC."""
    out = np.full(seconds.size, "clear", dtype=object)
    for a, b, kind in eps:
        out[(seconds >= a) & (seconds < b)] = kind
    return out


def solar_elevation_deg(day: dt.date, seconds: np.ndarray, lat_deg: float, lon_deg: float) -> np.ndarray:
    """Solar elevation (declination and hour angle, no equation of time) at seconds after 00:00 UTC."""
    doy = day.timetuple().tm_yday
    decl = np.radians(-23.44 * np.cos(2 * np.pi / 365 * (doy + 10)))
    solar_h = seconds / 3600 + lon_deg / 15
    hour_angle = np.radians(15 * (solar_h - 12))
    lat = np.radians(lat_deg)
    sin_e = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return np.degrees(np.arcsin(sin_e))


def true_lux(elevation_deg: np.ndarray, weather: np.ndarray) -> np.ndarray:
    """Ambient light without sensor noise."""
    sky = np.where(elevation_deg > 0, TWILIGHT_LUX + SUN_LUX * np.sin(np.radians(np.maximum(elevation_deg, 0))),
                   TWILIGHT_LUX * 10 ** (np.minimum(elevation_deg, 0) / TWILIGHT_DECADE_DEG))
    dim = np.array([LUX_DIMMING[w] for w in weather]) if weather.size else np.zeros(0)
    return np.maximum(sky * dim, NIGHT_FLOOR_LUX)


def sensors(rng: np.random.Generator, weather: np.ndarray, lux: np.ndarray, base_temp_c: float) -> dict:
    """Sensor values of one vehicle at its seconds, given the true weather and light."""
    n = weather.size
    rain, vis = np.zeros(n), np.zeros(n)
    for kind, ((r0, r1), (v0, v1)) in SENSOR_RANGES.items():
        m = weather == kind
        rain[m] = rng.uniform(r0, r1, m.sum())
        vis[m] = rng.uniform(v0, v1, m.sum())
    temp = np.full(n, base_temp_c) + rng.normal(0, 0.3, n)
    temp = np.where(weather == "rain", np.maximum(temp, RAIN_MIN_TEMP_C), temp)
    temp = np.where(weather == "snow", np.minimum(temp, -SNOW_OFFSET_C), temp)
    return {"rain_sensor_pct": np.round(rain, 1), "wiper_level": wiper_level(rain),
            "ambient_lux": np.round(lux * np.exp(rng.normal(0, LUX_NOISE, n)), 2),
            "visibility_m": np.round(vis), "outside_temp_c": np.round(temp, 1)}


def wiper_level(rain_sensor_pct: np.ndarray) -> np.ndarray:
    """Automatic wiper: 0 off, 1 interval, 2 low, 3 high."""
    return np.searchsorted(np.array(WIPER_STEPS_PCT), rain_sensor_pct, side="right")


def classify_weather(rain_sensor_pct, outside_temp_c, visibility_m) -> np.ndarray:
    """The on-board weather label from the sensor values."""
    wet = np.asarray(rain_sensor_pct) >= WET_MIN_PCT
    cold = np.asarray(outside_temp_c) <= SNOW_MAX_TEMP_C
    foggy = np.asarray(visibility_m) < FOG_MAX_VISIBILITY_M
    clear, rain, fog, snow = WEATHER_LABELS
    return np.where(wet, np.where(cold, snow, rain), np.where(foggy, fog, clear)).astype(object)


def classify_light(ambient_lux) -> np.ndarray:
    """The on-board light label (automatic headlamps) from ambient light."""
    lux = np.asarray(ambient_lux)
    day, dusk, night = LIGHT_LABELS
    return np.where(lux >= DAY_MIN_LUX, day, np.where(lux < NIGHT_MAX_LUX, night, dusk)).astype(object)
