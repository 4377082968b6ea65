"""The warehouse's exact statistics as SQL expressions, rendered from the dbt macros themselves
(``macros/metrics.sql``): the Garwood 95% interval of a Poisson count and the exact conditional binomial test
``ads_version_compare`` uses. Rendering the one definition (no dbt context is needed by these macros) keeps the
trends and the version comparison on the same formulas."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

MACROS_FILE = Path(__file__).resolve().parents[2] / "macros" / "metrics.sql"


@functools.cache
def _macros():
    if not MACROS_FILE.is_file():
        raise FileNotFoundError(f"the dbt macros are missing: {MACROS_FILE}")
    return jinja2.Environment().from_string(MACROS_FILE.read_text(encoding="utf-8")).module


def per_10k_km(count: str, km: str) -> str:
    """Events per 10,000 km; null without exposure."""
    return str(_macros().per_10k_km(count, km))


def rate_interval(count: str, km: str) -> tuple[str, str]:
    """Low and high end of the exact 95% interval of the rate per 10,000 km given ``count`` events in ``km``."""
    m = _macros()
    return (f"({m.poisson_low(count)} / nullif({km}, 0) * 10000)",
            f"({m.poisson_high(count)} / nullif({km}, 0) * 10000)")


def conditional_p(count: str, km: str, base_count: str, base_km: str) -> str:
    """Two-sided p of equal rates: given both counts, ``count`` ~ Binomial(count + base_count, km / (km +
    base_km)); null when either exposure is missing."""
    test = _macros().binomial_two_sided_p(count, f"{count} + {base_count}", f"{km} / ({km} + {base_km})")
    return f"(case when {km} > 0 and {base_km} > 0 then {test} end)"
