"""The warehouse's statistics macros (chi-square quantile, exact Poisson interval, exact binomial test)
compiled by dbt and run in DuckDB, against scipy."""

from __future__ import annotations

import duckdb
import pytest
from scipy import stats

from tests.fixtures.warehouse import run_dbt

DFS = [2, 4, 6, 10, 20, 40, 100, 400, 2000, 12000]
PS = [0.025, 0.5, 0.975]
BINOM = [(0, 0, 0.5), (3, 10, 0.5), (0, 12, 0.3), (12, 12, 0.3), (7, 40, 0.1), (30, 200, 0.2), (120, 500, 0.3)]


def _compiled(tmp_path_factory, sql: str) -> str:
    workdir = tmp_path_factory.mktemp("stats")
    out = run_dbt(["compile", "--quiet", "--inline", sql], workdir / "empty.duckdb")
    return out.strip()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    grid = ", ".join(f"({p}, {df})" for p in PS for df in DFS)
    cases = ", ".join(f"({k}, {n}, {p})" for k, n, p in BINOM)
    counts = ", ".join(f"({k})" for k in range(0, 60, 7))
    sql = (
        "select 'chi2' as kind, p, df::double as a, null::double as b, {{ chi2_ppf_even_df('p', 'df') }} as v "
        f"from (values {grid}) t(p, df) "
        "union all select 'binom', p, k, n, {{ binomial_two_sided_p('k', 'n', 'p') }} "
        f"from (values {cases}) t(k, n, p) "
        "union all select 'poisson_low', null, k, null, {{ poisson_low('k') }} "
        f"from (values {counts}) t(k) "
        "union all select 'poisson_high', null, k, null, {{ poisson_high('k') }} "
        f"from (values {counts}) t(k)"
    )
    compiled = _compiled(tmp_path_factory, sql)
    return duckdb.connect().execute(compiled).fetchall()


def test_chi2_quantile_matches_scipy_to_three_significant_digits(results):
    rows = [r for r in results if r[0] == "chi2"]
    assert len(rows) == len(DFS) * len(PS)
    for _, p, df, _, value in rows:
        expected = stats.chi2.ppf(float(p), df)
        assert value == pytest.approx(expected, rel=5e-4), (p, df)


def test_exact_poisson_interval_matches_scipy(results):
    for kind, _, k, _, value in results:
        if kind == "poisson_low":
            expected = 0.0 if k == 0 else stats.chi2.ppf(0.025, 2 * k) / 2
        elif kind == "poisson_high":
            expected = stats.chi2.ppf(0.975, 2 * k + 2) / 2
        else:
            continue
        assert value == pytest.approx(expected, rel=5e-4, abs=1e-12), (kind, k)


def test_exact_binomial_test_matches_scipy(results):
    rows = [r for r in results if r[0] == "binom"]
    assert len(rows) == len(BINOM)
    for _, p, k, n, value in rows:
        expected = 1.0 if n == 0 else stats.binomtest(int(k), int(n), float(p)).pvalue
        assert value == pytest.approx(expected, rel=1e-6, abs=1e-12), (k, n, p)
