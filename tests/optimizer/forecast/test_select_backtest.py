"""Rolling-origin and holdout errors, the backtest report and the scenario forecast."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import scenarios
from inventory.domain import DemandRecord
from optimizer.forecast.backtest import backtest_report, rolling_errors, scales
from optimizer.forecast.intermittent import naive_path
from optimizer.forecast.prior import installed_rate_per_month, prior_rates
from optimizer.forecast.select import (
    COMBINATION,
    NO_DATA,
    PRIOR_ONLY,
    forecast_scenario,
    history_matrix,
    month_range,
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


def test_forecast_scenario_tiny_keeps_the_installed_base_prior() -> None:
    sc = scenarios.load("tiny")
    f = forecast_scenario(sc, strength_months=12)
    assert f.part_ids == tuple(p.part_id for p in sc.parts)
    y, months = history_matrix(sc.demand_history, f.part_ids)
    np.testing.assert_array_equal(f.history, y)
    assert f.months == months
    # a history shorter than the backtest's first origin: the whole-history posterior alone
    assert f.weights["all"] == 1.0 and sum(f.weights.values()) == 1.0
    expect = (f.prior_rate_per_month * 12 + y.sum(axis=1)) / (12 + len(months))
    np.testing.assert_allclose(f.rate_per_month, expect)
    np.testing.assert_allclose(f.prior_weight, 12 / (12 + len(months)))
    assert np.all(f.rate_low <= f.rate_per_month) and np.all(f.rate_per_month <= f.rate_high)
    assert set(f.source) == {"installed_base"}
    assert f.method_counts() == {COMBINATION: len(sc.parts)}


def test_forecast_scenario_without_installed_base_uses_the_pool() -> None:
    sc = scenarios.load("tiny")
    lone = "FAN-T1"
    sc2 = replace(sc, installed_base=tuple(b for b in sc.installed_base if b.part_id != lone))
    f = forecast_scenario(sc2)
    i = f.part_ids.index(lone)
    assert f.source[i] == "pool" and f.prior_rate_per_month[i] == 0.0
    y = f.history[i]
    assert f.rate_per_month[i] > y.sum() / (12 + len(y))  # no longer pulled toward a prior of 0
    g = forecast_scenario(sc2, planned_elsewhere={lone})
    assert g.rate_per_month[i] == 0.0 and g.method[i] == NO_DATA


def test_forecast_scenario_without_history_is_the_prior() -> None:
    sc = replace(scenarios.load("tiny"), demand_history=())
    f = forecast_scenario(sc)
    np.testing.assert_allclose(f.rate_per_month, f.prior_rate_per_month)
    assert set(f.method) == {PRIOR_ONLY}
