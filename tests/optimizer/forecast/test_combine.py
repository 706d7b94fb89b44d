"""The default forecast (window combination), its honesty in backtests and its intervals."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.forecast.backtest import holdout_errors
from optimizer.forecast.combine import combination_weights, forecast_rates
from optimizer.forecast.intermittent import METHODS
from optimizer.forecast.pooled import fit_pool_prior, window_posterior


def _shifted(n: int = 300, T: int = 40, seed: int = 1) -> np.ndarray:
    """Poisson series whose rate triples for the last 12 months."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 0.5, size=(n, 1))
    rate = np.where(np.arange(T)[None, :] >= T - 12, 3.0 * base, base)
    return rng.poisson(rate).astype(float)


def test_holdout_forecast_never_sees_the_scored_months() -> None:
    y = _shifted()
    seen: list[np.ndarray] = []

    def spy(h: np.ndarray) -> np.ndarray:
        seen.append(h)
        return forecast_rates(h, np.full(len(h), np.nan)).rate

    ref = holdout_errors(y, spy, holdout=12)
    assert seen[0].shape == (300, 28)
    np.testing.assert_array_equal(seen[0], y[:, :28])
    wild = y.copy()
    wild[:, 28:] = 1e6  # whatever the held-out months hold, the forecast is the same
    again = holdout_errors(wild, lambda h: forecast_rates(h, np.full(len(h), np.nan)).rate, 12)
    np.testing.assert_array_equal(again.forecast, ref.forecast)
    assert np.nanmean(again.smse) > np.nanmean(ref.smse)  # only the errors change
    # the same for every single method
    for name, fn in METHODS.items():
        a = holdout_errors(y, lambda h, fn=fn: fn(h)[:, -1], 12).forecast
        b = holdout_errors(wild, lambda h, fn=fn: fn(h)[:, -1], 12).forecast
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_holdout_errors_by_hand() -> None:
    y = np.array([[1.0, 3.0, 0.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    e = holdout_errors(y, lambda h: np.array([2.0, 5.0]), holdout=2)
    # series 0: in-sample mean 2, errors 2 and 0 -> MSE 2, MAE 1; series 1: mean 0, unscored
    assert e.smse[0] == pytest.approx(2.0 / 4.0) and e.smae[0] == pytest.approx(0.5)
    assert np.isnan(e.smse[1])
    assert e.means() == (pytest.approx(0.5), pytest.approx(0.5), 1)
    with pytest.raises(ValueError, match="shape"):
        holdout_errors(y, lambda h: np.zeros(3), 2)
    with pytest.raises(ValueError, match="holdout"):
        holdout_errors(y, lambda h: np.zeros(2), 4)


def test_weights_move_to_short_windows_when_levels_shift() -> None:
    rng = np.random.default_rng(6)
    # every 6 months each series' rate moves for good by a random factor (a random walk)
    steps = np.exp(np.cumsum(rng.normal(0.0, 0.7, size=(300, 8)), axis=1))
    level = np.repeat(steps, 6, axis=1)
    y = rng.poisson(rng.gamma(2.0, 1.0, size=(300, 1)) * level).astype(float)
    nan = np.full(len(y), np.nan)
    b, origins = combination_weights(y, nan, windows=(3, None))
    assert origins == 48 - 12 and b[0] > 0.7
    rng = np.random.default_rng(5)
    flat = rng.poisson(rng.gamma(2.0, 0.5, size=(300, 1)), size=(300, 48)).astype(float)
    b, _ = combination_weights(flat, nan, windows=(3, None))
    assert b[1] > 0.8


def test_weights_match_a_brute_force_search() -> None:
    """Independent check of the QP: the backtest loss on a grid of two-window weights."""
    y = _shifted(n=120, T=30, seed=3)
    nan = np.full(len(y), np.nan)
    windows = (6, None)
    b, _ = combination_weights(y, nan, windows=windows, min_months=12, horizon=6)
    preds, actual, weight = [], [], []
    for o in range(12, 30):
        ahead = y[:, o: o + 6]
        scale = y[:, :o].mean(axis=1)
        use = scale > 0
        cand = np.stack([window_posterior(y[:, :o], nan, window=w)[0].mean for w in windows], 1)
        for h in range(ahead.shape[1]):
            preds.append(cand[use])
            actual.append(ahead[use, h])
            weight.append(1.0 / (ahead.shape[1] * scale[use] ** 2))
    P, A, W = (np.concatenate(v) for v in (preds, actual, weight))
    grid = np.linspace(0, 1, 1001)
    loss = [(W * (P @ np.array([g, 1 - g]) - A) ** 2).sum() for g in grid]
    assert b[0] == pytest.approx(grid[int(np.argmin(loss))], abs=2e-3)


def test_short_history_uses_the_whole_history_posterior() -> None:
    y = np.array([[0.0, 2.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    prior = np.array([0.5, np.nan])
    f = forecast_rates(y, prior, min_months=12)
    assert f.origins == 0 and f.weights["all"] == 1.0
    assert f.rate[0] == pytest.approx((0.5 * 12 + 4) / (12 + 5))
    pool = fit_pool_prior(np.array([4.0, 0.0]), np.array([5.0, 5.0]))  # every part is in the pool
    assert f.rate[1] == pytest.approx(pool.shape / (pool.rate + 5))
    assert f.low[1] <= f.rate[1] <= f.high[1]
    assert f.pooled.tolist() == [False, True]


def test_interval_brackets_the_rate_and_covers_stationary_truth() -> None:
    rng = np.random.default_rng(8)
    lam = rng.gamma(1.5, 0.6, size=2000)
    y = rng.poisson(lam[:, None], size=(2000, 36)).astype(float)
    f = forecast_rates(y, np.full(2000, np.nan), level=0.9)
    assert np.all(f.low <= f.rate + 1e-12) and np.all(f.rate <= f.high + 1e-12)
    cover = np.mean((f.low <= lam) & (lam <= f.high))
    assert 0.8 <= cover <= 0.99


def test_bad_arguments() -> None:
    y = np.ones((2, 20))
    with pytest.raises(ValueError, match="prior_rate"):
        forecast_rates(y, np.ones(3))
    with pytest.raises(ValueError, match="prior_rate"):
        forecast_rates(y, np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match="level"):
        forecast_rates(y, np.ones(2), level=1.0)
    with pytest.raises(ValueError, match="windows"):
        forecast_rates(y, np.ones(2), windows=())
    with pytest.raises(ValueError, match="demand history"):
        forecast_rates(-y, np.ones(2))
