"""Demand forecasting: installed-base priors, pooled priors, Poisson-gamma updates, intermittent
methods, their combination and the per-part table.

Entry points: :func:`forecast_scenario` (scenario -> per-part monthly forecast),
:func:`forecast_rates` (the default forecast of a history matrix), :func:`poisson_gamma`,
:func:`fit_pool_prior`, the method paths in :mod:`optimizer.forecast.intermittent`,
:func:`backtest_report` and :func:`forecast_table`.
"""

from optimizer.forecast.backtest import backtest_report, rolling_errors
from optimizer.forecast.bayes import GammaPosterior, poisson_gamma
from optimizer.forecast.combine import WINDOWS, RateForecast, forecast_rates
from optimizer.forecast.intermittent import (
    METHODS,
    croston_path,
    moving_average_path,
    naive_path,
    sba_path,
    tsb_path,
)
from optimizer.forecast.pooled import GammaPrior, fit_pool_prior, window_posterior
from optimizer.forecast.prior import PriorRates, installed_rate_per_month, prior_rates
from optimizer.forecast.select import PartForecast, forecast_scenario, history_matrix
from optimizer.forecast.table import forecast_table

__all__ = [
    "METHODS", "WINDOWS", "GammaPosterior", "GammaPrior", "PartForecast", "PriorRates",
    "RateForecast", "backtest_report", "croston_path", "fit_pool_prior", "forecast_rates",
    "forecast_scenario", "forecast_table", "history_matrix", "installed_rate_per_month",
    "moving_average_path", "naive_path", "poisson_gamma", "prior_rates", "rolling_errors",
    "sba_path", "tsb_path", "window_posterior",
]
