"""Poisson-gamma update: closed form vs numerical posterior, shrinkage and convergence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from optimizer.forecast.bayes import poisson_gamma
from optimizer.forecast.select import bayes_path


def _numerical_posterior_mean(prior_mean: float, k: float, counts: np.ndarray) -> float:
    """E[lambda | counts] by quadrature of Gamma prior x Poisson likelihood."""
    prior = stats.gamma(prior_mean * k, scale=1.0 / k)

    def dens(lam: float) -> float:
        return prior.pdf(lam) * np.prod(stats.poisson.pmf(counts, lam))

    hi = max(prior.ppf(0.999999), counts.mean() * 5 + 5)
    z = integrate.quad(dens, 0, hi, limit=200, points=[counts.mean(), prior_mean])[0]
    m = integrate.quad(lambda x: x * dens(x), 0, hi, limit=200, points=[counts.mean(), prior_mean])[0]
    return m / z


@pytest.mark.parametrize(("m0", "k", "counts"), [(0.5, 12, [0, 1, 0, 2, 0, 0]),
                                                 (2.0, 6, [3, 1, 4, 1, 5]),
                                                 (0.2, 24, [0] * 10)])
def test_posterior_mean_equals_closed_form_and_quadrature(m0: float, k: float,
                                                          counts: list[int]) -> None:
    c = np.array(counts)
    post = poisson_gamma(np.array([m0]), np.array([c.sum()]), np.array([len(c)]), k)
    closed = (m0 * k + c.sum()) / (k + len(c))
    assert post.mean[0] == pytest.approx(closed, rel=1e-12)
    assert post.mean[0] == pytest.approx(_numerical_posterior_mean(m0, k, c), rel=1e-5)


def test_little_history_stays_near_prior_long_history_dominates() -> None:
    post = poisson_gamma(np.array([1.0, 1.0]), np.array([3.0, 300.0]), np.array([1.0, 100.0]), 12)
    assert abs(post.mean[0] - 1.0) < abs(post.mean[0] - 3.0)  # one month at 3/month: near prior
    assert post.mean[1] == pytest.approx(3.0, abs=0.25)  # 100 months at 3/month


def test_converges_to_true_rate() -> None:
    rng = np.random.default_rng(7)
    true = np.array([0.05, 0.4, 2.5])
    y = rng.poisson(true[:, None], size=(3, 6000)).astype(float)
    path = bayes_path(y, prior_rate=np.array([1.0, 1.0, 1.0]), strength_months=12)
    err_early = np.abs(path[:, 24] - true)
    err_late = np.abs(path[:, -1] - true)
    np.testing.assert_allclose(path[:, -1], true, rtol=0.1, atol=0.01)
    assert np.all(err_late <= err_early + 1e-3)


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 20), st.integers(0, 500), st.integers(0, 60), st.floats(0.5, 48),
       st.floats(0.01, 100))
def test_posterior_is_finite_nonnegative_and_scale_equivariant(m0: float, y: int, n: int, k: float,
                                                              c: float) -> None:
    a = poisson_gamma(np.array([m0]), np.array([y]), np.array([n]), k).mean
    b = poisson_gamma(np.array([c * m0]), np.array([c * y]), np.array([n]), k).mean
    assert np.isfinite(a).all() and (a >= 0).all()
    np.testing.assert_allclose(b, c * a, rtol=1e-9, atol=1e-12)


def test_quantiles_bracket_the_mean() -> None:
    post = poisson_gamma(np.array([1.0, 0.0]), np.array([10.0, 0.0]), np.array([12.0, 5.0]), 12)
    assert post.quantile(0.05)[0] < post.mean[0] < post.quantile(0.95)[0]
    assert post.quantile(0.5)[1] == 0.0


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="strength"):
        poisson_gamma(np.array([1.0]), np.array([1.0]), np.array([1.0]), 0)
    with pytest.raises(ValueError, match="total_units"):
        poisson_gamma(np.array([1.0]), np.array([-1.0]), np.array([1.0]))
