"""Rolling-origin errors, the backtest report, method selection and the scenario forecast."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from inventory.domain import DemandRecord
from optimizer.forecast.backtest import backtest_report, rolling_errors, scales
from optimizer.forecast.intermittent import naive_path
from optimizer.forecast.prior import installed_rate_per_month, prior_rates
from optimizer.forecast.select import (
    BAYES,
    forecast_scenario,
    history_matrix,
    month_range,
    select_methods,
)


def test_rolling_errors_by_hand() -> None:
    y = np.array([[1.0, 3.0, 0.0, 2.0]])
    path = naive_path(y)  # forecasts after t obs: 0, 1, 3, 0, 2
    e = rolling_errors(y, path, holdout=2, horizon=2)
    # origin 2 (forecast 3): actuals 0, 2 -> errors 3, 1; origin 3 (forecast 0): actual 2 -> -2
    assert e.mae[0] == pytest.approx(2.0)
    assert e.mse[0] == pytest.approx((9 + 1 + 4) / 3)
    # in-sample [1, 3]: MASE scale |3-1| = 2, sMSE scale mean^2 = 4
    assert e.mase[0] == pytest.approx(1.0)
    assert e.smse[0] == pytest.approx((14 / 3) / 4)


def test_scales_skip_missing_and_flag_zero() -> None:
    mad, sq = scales(np.array([[1.0, np.nan, 4.0, 2.0], [0.0, 0.0, 0.0, 0.0]]))
    assert mad[0] == pytest.approx(2.5) and sq[0] == pytest.approx((7 / 3) ** 2)
    assert np.isnan(mad[1]) and np.isnan(sq[1])


def test_backtest_report_relative_to_naive() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(0.6, size=(200, 36)).astype(float)
    rep = backtest_report(y, holdout=12, horizon=12)
    assert set(rep.index) >= {"naive", "croston", "sba", "tsb", "moving_average"}
    assert rep.loc["naive", "rel_smse"] == pytest.approx(1.0)
    # on stationary Poisson data every smoothing method beats the naive forecast clearly
    for m in ("croston", "sba", "tsb", "moving_average"):
        assert rep.loc[m, "rel_smse"] < 0.8, m


def test_selection_uses_bayes_for_short_history_and_a_method_otherwise() -> None:
    rng = np.random.default_rng(5)
    y = rng.poisson(1.5, size=(6, 30)).astype(float)
    y[0, :] = 0.0
    y[0, -2] = 1.0  # one demand month: not enough history
    method, value = select_methods(y, prior_rate=np.full(6, 1.5), min_demand_months=4)
    assert method[0] == BAYES
    assert value[0] == pytest.approx((1.5 * 12 + 1) / (12 + 30))
    assert all(m in {"naive", "moving_average", "croston", "sba", "tsb", BAYES} for m in method)
    assert np.all(value >= 0)


def test_history_matrix_fills_missing_months_with_zero() -> None:
    recs = [DemandRecord("2024-11", "s1", "a", 2), DemandRecord("2025-02", "s2", "a", 1),
            DemandRecord("2025-02", "s1", "b", 4), DemandRecord("2025-02", "s3", "a", 3)]
    y, months = history_matrix(recs, ["a", "b", "c"])
    assert months == month_range("2024-11", "2025-02") == ("2024-11", "2024-12", "2025-01",
                                                            "2025-02")
    np.testing.assert_array_equal(y, [[2, 0, 0, 4], [0, 0, 0, 4], [0, 0, 0, 0]])


def test_prior_rates_from_installed_base() -> None:
    sc = scenarios.load("tiny")
    pr = prior_rates(sc)
    units = {p.part_id: 0 for p in sc.parts}
    for ib in sc.installed_base:
        units[ib.part_id] += ib.quantity
    expect = [units[p.part_id] * p.annual_failure_rate / 12 for p in sc.parts]
    np.testing.assert_allclose(pr.rate_per_month, expect)
    sp = prior_rates(sc, by="site_part")
    assert sp.rate_per_month.sum() == pytest.approx(pr.rate_per_month.sum())
    np.testing.assert_allclose(installed_rate_per_month(np.array([24]), np.array([0.5])), [1.0])
    with pytest.raises(ValueError, match="by must be"):
        prior_rates(sc, by="depot")


def test_forecast_scenario_tiny_blends_prior_and_history() -> None:
    sc = scenarios.load("tiny")
    f = forecast_scenario(sc, strength_months=12)
    assert f.part_ids == tuple(p.part_id for p in sc.parts)
    y, months = history_matrix(sc.demand_history, f.part_ids)
    n = len(months)
    expect = (f.prior_rate_per_month * 12 + y.sum(axis=1)) / (12 + n)
    np.testing.assert_allclose(f.posterior_rate_per_month, expect)
    assert np.all(np.isfinite(f.rate_per_month)) and np.all(f.rate_per_month >= 0)
    assert sum(f.method_counts().values()) == len(sc.parts)
