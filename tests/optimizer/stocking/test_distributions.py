import numpy as np
import pytest
from scipy import stats

from optimizer.stocking.distributions import backorder_stats


def _direct(pmf: np.ndarray, S: int) -> tuple[float, float, float]:
    x = np.arange(len(pmf))
    b = np.maximum(x - S, 0)
    ebo = float((b * pmf).sum())
    return float(pmf[:S].sum()), ebo, float((b * b * pmf).sum() - ebo**2)


@pytest.mark.parametrize("mean", [0.05, 0.8, 3.0, 12.5])
@pytest.mark.parametrize("S", [0, 1, 2, 5, 9])
def test_poisson_matches_direct_sums(mean: float, S: int) -> None:
    pmf = stats.poisson.pmf(np.arange(400), mean)
    a, ebo, vbo, f = backorder_stats(np.array([mean]), np.array([mean]), np.array([S]))
    ra, rebo, rvbo = _direct(pmf, S)
    assert a[0] == pytest.approx(ra, abs=1e-9)
    assert ebo[0] == pytest.approx(rebo, abs=1e-9)
    assert vbo[0] == pytest.approx(rvbo, abs=1e-9)
    assert f[0] == pytest.approx(pmf[S], abs=1e-12)


@pytest.mark.parametrize(("mean", "var"), [(0.7, 1.4), (3.0, 6.0), (5.0, 20.0)])
@pytest.mark.parametrize("S", [0, 1, 4, 8])
def test_negative_binomial_matches_direct_sums(mean: float, var: float, S: int) -> None:
    p, n = mean / var, mean * mean / (var - mean)
    pmf = stats.nbinom.pmf(np.arange(2000), n, p)
    a, ebo, vbo, _ = backorder_stats(np.array([mean]), np.array([var]), np.array([S]))
    ra, rebo, rvbo = _direct(pmf, S)
    assert (a[0], ebo[0], vbo[0]) == pytest.approx((ra, rebo, rvbo), abs=1e-9)


def test_poisson_closed_form_expected_backorders() -> None:
    # E[(X-S)^+] = m - S + sum_{x<S} (S-x) p(x); S=1: m - 1 + e^{-m}
    m = 2.3
    _, ebo, _, _ = backorder_stats(np.array([m]), np.array([m]), np.array([1]))
    assert ebo[0] == pytest.approx(m - 1 + np.exp(-m), abs=1e-12)
