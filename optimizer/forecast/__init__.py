"""Demand forecasting: installed-base priors, Poisson-gamma updates, intermittent methods.

Entry points: :func:`forecast_scenario` (scenario -> per-part monthly forecast),
:func:`poisson_gamma`, the method paths in :mod:`optimizer.forecast.intermittent` and
:func:`backtest_report`.
"""

from optimizer.forecast.backtest import backtest_report, rolling_errors
from optimizer.forecast.bayes import GammaPosterior, poisson_gamma
from optimizer.forecast.intermittent import (
    METHODS,
    croston_path,
    moving_average_path,
    naive_path,
    sba_path,
    tsb_path,
)
from optimizer.forecast.prior import PriorRates, installed_rate_per_month, prior_rates
from optimizer.forecast.select import PartForecast, forecast_scenario, history_matrix, select_methods

__all__ = [
    "METHODS", "GammaPosterior", "PartForecast", "PriorRates", "backtest_report", "croston_path",
    "forecast_scenario", "history_matrix", "installed_rate_per_month", "moving_average_path",
    "naive_path", "poisson_gamma", "prior_rates", "rolling_errors", "sba_path", "select_methods",
    "tsb_path",
]
