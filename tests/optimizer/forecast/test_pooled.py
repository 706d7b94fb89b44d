"""The pooled (empirical-Bayes) Gamma prior and the window posteriors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from optimizer.forecast.bayes import poisson_gamma
from optimizer.forecast.pooled import NO_POOL, fit_pool_prior, window_posterior, window_totals


def test_fit_recovers_the_gamma_that_drew_the_rates() -> None:
    rng = np.random.default_rng(11)
    a, b = 0.8, 2.0  # mean 0.4 units/month, coefficient of variation 1.1
    lam = rng.gamma(a, 1.0 / b, size=20_000)
    months = rng.integers(6, 40, size=lam.size).astype(float)
    units = rng.poisson(lam * months).astype(float)
    prior = fit_pool_prior(units, months)
    assert prior.shape == pytest.approx(a, rel=0.06)
    assert prior.rate == pytest.approx(b, rel=0.06)


def test_fit_is_the_negative_binomial_maximum() -> None:
    """Independent check: scipy's negative binomial log-likelihood on a grid around the fit."""
    rng = np.random.default_rng(2)
    months = np.full(400, 24.0)
    units = rng.poisson(rng.gamma(1.5, 1 / 3.0, size=400) * months).astype(float)
    prior = fit_pool_prior(units, months)

    def loglik(a: float, b: float) -> float:
        return float(stats.nbinom.logpmf(units, a, b / (b + months)).sum())

    best = loglik(prior.shape, prior.rate)
    for fa in (0.9, 1.0, 1.1):
        for fb in (0.9, 1.0, 1.1):
            if (fa, fb) != (1.0, 1.0):
                assert loglik(prior.shape * fa, prior.rate * fb) < best


def test_degenerate_pools() -> None:
    assert fit_pool_prior(np.zeros(5), np.full(5, 12.0)) == NO_POOL
    assert fit_pool_prior(np.array([3.0]), np.array([0.0])) == NO_POOL  # nothing observed
    # every part at the same rate: no spread between parts, the prior is as strong as allowed
    same = fit_pool_prior(np.full(200, 24.0), np.full(200, 24.0))
    assert same.mean == pytest.approx(1.0, rel=1e-3) and same.rate > 100
    with pytest.raises(ValueError, match="finite"):
        fit_pool_prior(np.array([-1.0]), np.array([3.0]))
    with pytest.raises(ValueError, match="shape"):
        fit_pool_prior(np.zeros(2), np.zeros(3))


def test_window_totals_skip_missing_months() -> None:
    y = np.array([[1.0, np.nan, 2.0, 0.0], [0.0, 0.0, 5.0, np.nan]])
    u, n = window_totals(y, 2)
    np.testing.assert_array_equal(u, [2.0, 5.0])
    np.testing.assert_array_equal(n, [2.0, 1.0])
    u, n = window_totals(y, None)
    np.testing.assert_array_equal(u, [3.0, 5.0])
    np.testing.assert_array_equal(n, [3.0, 3.0])
    with pytest.raises(ValueError, match="window"):
        window_totals(y, 0)


def test_installed_base_parts_keep_the_catalog_prior() -> None:
    rng = np.random.default_rng(4)
    y = rng.poisson(0.5, size=(30, 18)).astype(float)
    prior = np.where(np.arange(30) < 10, 0.3, np.nan)
    post, pw = window_posterior(y, prior, window=12, strength_months=6.0)
    ref = poisson_gamma(np.full(10, 0.3), y[:10, -12:].sum(axis=1), np.full(10, 12.0), 6.0)
    np.testing.assert_allclose(post.mean[:10], ref.mean)
    np.testing.assert_allclose(pw[:10], 6.0 / 18.0)
    # the others share one fitted prior: same prior weight for the same exposure
    assert np.ptp(pw[10:]) < 1e-12 and 0 < pw[10] < 1


def test_groups_are_pooled_separately() -> None:
    rng = np.random.default_rng(9)
    lo = rng.poisson(rng.gamma(2.0, 0.05, size=(200, 1)), size=(200, 12))
    hi = rng.poisson(rng.gamma(2.0, 1.5, size=(200, 1)), size=(200, 12))
    y = np.vstack([lo, hi]).astype(float)
    y[0] = 0.0
    y[200] = 0.0
    nan = np.full(400, np.nan)
    groups = np.repeat([0, 1], 200)
    sep, _ = window_posterior(y, nan, window=None, groups=groups)
    lo_alone, _ = window_posterior(y[:200], nan[:200], window=None)
    hi_alone, _ = window_posterior(y[200:], nan[200:], window=None)
    np.testing.assert_allclose(sep.mean, np.concatenate([lo_alone.mean, hi_alone.mean]))
    # a part with no demand borrows its own group's level
    assert sep.mean[0] < sep.mean[200]
    with pytest.raises(ValueError, match="groups"):
        window_posterior(y, nan, window=None, groups=groups[:5])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=30), min_size=2, max_size=25),
       st.sampled_from([3, 6, 12, None]))
def test_pooled_estimate_lies_between_own_rate_and_pool_mean(rows: list[list[int]],
                                                             window: int | None) -> None:
    width = max(len(r) for r in rows)
    y = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        y[i, width - len(r):] = r  # shorter histories start later
    post, pw = window_posterior(y, np.full(len(rows), np.nan), window=window)
    units, months = window_totals(y, window)
    pool = fit_pool_prior(units, months)
    seen = months > 0
    own = units[seen] / months[seen]
    lo = np.minimum(own, pool.mean) - 1e-9
    hi = np.maximum(own, pool.mean) + 1e-9
    est = post.mean[seen]
    assert np.all((lo <= est) & (est <= hi))
    assert np.all((pw >= 0) & (pw <= 1))
