"""The per-part forecast table of a run: rate, interval, method, source and a history summary."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from optimizer.forecast.select import PartForecast

FORECAST_COLUMNS = (
    "part_id", "name", "method", "source", "forecast_units_per_month",
    "interval_low_units_per_month", "interval_high_units_per_month", "interval_level",
    "forecast_units_per_quarter", "prior_units_per_month", "prior_weight", "history_months",
    "history_units", "demand_months", "units_last_12_months", "last_demand_month", "planned_as",
    "planned_with")
"""Columns of :func:`forecast_table`. ``prior_weight``: the prior's share of the forecast (0 =
history alone); ``planned_as``: the part that carries this part's demand (supersession or an
interchangeable pool), empty if itself; ``planned_with``: the parts whose demand it carries."""


def forecast_table(forecast: PartForecast, names: Mapping[str, str] | None = None,
                   planned_as: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per part, catalog order; rates rounded to 4 decimals, units per month."""
    names = names or {}
    planned_as = {k: v for k, v in (planned_as or {}).items() if k != v}
    carries: dict[str, list[str]] = {}
    for part, rep in planned_as.items():
        carries.setdefault(rep, []).append(part)
    y = forecast.history
    T = y.shape[1]
    demand = y > 0
    last = np.where(demand.any(axis=1), T - 1 - np.argmax(demand[:, ::-1], axis=1), -1)
    months = np.array(forecast.months + ("",), dtype=object)
    ids = list(forecast.part_ids)
    return pd.DataFrame({
        "part_id": ids,
        "name": [names.get(p, "") for p in ids],
        "method": forecast.method.astype(str),
        "source": forecast.source.astype(str),
        "forecast_units_per_month": np.round(forecast.rate_per_month, 4),
        "interval_low_units_per_month": np.round(forecast.rate_low, 4),
        "interval_high_units_per_month": np.round(forecast.rate_high, 4),
        "interval_level": forecast.level,
        "forecast_units_per_quarter": np.round(forecast.rate_per_month * 3.0, 3),
        "prior_units_per_month": np.round(forecast.prior_rate_per_month, 4),
        "prior_weight": np.round(forecast.prior_weight, 3),
        "history_months": T,
        "history_units": y.sum(axis=1).astype(np.int64),
        "demand_months": demand.sum(axis=1).astype(np.int64),
        "units_last_12_months": y[:, max(0, T - 12):].sum(axis=1).astype(np.int64),
        "last_demand_month": months[last],
        "planned_as": [planned_as.get(p, "") for p in ids],
        "planned_with": [" ".join(carries.get(p, [])) for p in ids],
    }, columns=list(FORECAST_COLUMNS))
