"""The warehouse's exact statistics as SQL expressions, rendered from the dbt macros themselves
(``macros/metrics.sql``): the Garwood 95% interval of a Poisson count and the exact conditional binomial test
``ads_version_compare`` uses, with the DuckDB versions of the engine macros they dispatch to. Rendering the one
definition (no other dbt context is needed by these macros) keeps the trends and the version comparison on the
same formulas."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

MACROS = Path(__file__).resolve().parents[2] / "macros"
MACROS_FILE = MACROS / "metrics.sql"
ENGINE_MACROS = MACROS / "engine"  # the adapter.dispatch macros metrics.sql calls
ENGINE = "duckdb"  # the dispatch these expressions take: they run on the DuckDB warehouse


class _Adapter:
    """dbt's ``adapter.dispatch`` for the macros of one template: the ``duckdb__`` version, else ``default__``."""

    def __init__(self) -> None:
        self.module = None

    def dispatch(self, name: str, macro_namespace: str | None = None):
        return getattr(self.module, f"{ENGINE}__{name}", None) or getattr(self.module, f"default__{name}")


@functools.cache
def _macros():
    if not MACROS_FILE.is_file():
        raise FileNotFoundError(f"the dbt macros are missing: {MACROS_FILE}")
    files = [*sorted(ENGINE_MACROS.glob("*.sql")), MACROS_FILE]
    adapter = _Adapter()
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals.update({"adapter": adapter, "return": lambda value: value})
    adapter.module = env.from_string("\n".join(f.read_text(encoding="utf-8") for f in files)).module
    return adapter.module


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
