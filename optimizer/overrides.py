"""Planner forecast overrides applied to plain data: a part's demand set to a given rate.

:func:`with_forecasts` (plan runs) scales a part's failure rate so its installed base fails
``units_per_month x 12`` times a year, keeping the split over sites and classes;
:func:`override_forecast` (restock runs) replaces the part's monthly forecast. A part without an
installed base cannot be placed by the stocking model: it is returned as not applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from inventory.domain import Scenario
from optimizer.forecast.select import PartForecast


def with_forecasts(scenario: Scenario, units_per_month: Mapping[str, float]
                   ) -> tuple[Scenario, list[str]]:
    """``(scenario with the parts' demand set, part ids that could not be placed)``."""
    yearly: dict[str, float] = {}
    for ib in scenario.installed_base:
        if ib.part_id in units_per_month:
            yearly[ib.part_id] = yearly.get(ib.part_id, 0.0) + ib.rate_per_year(
                scenario.part(ib.part_id))
    weight: dict[str, float] = {}
    for ib in scenario.installed_base:
        if ib.part_id in units_per_month:
            weight[ib.part_id] = weight.get(ib.part_id, 0.0) + ib.quantity * ib.demand_factor
    unplaced = [p for p in units_per_month if weight.get(p, 0.0) <= 0]
    parts = tuple(replace(p, annual_failure_rate=12.0 * units_per_month[p.part_id]
                          / weight[p.part_id])
                  if p.part_id in units_per_month and weight.get(p.part_id, 0.0) > 0 else p
                  for p in scenario.parts)
    return replace(scenario, parts=parts), unplaced


def override_forecast(forecast: PartForecast, units_per_month: Mapping[str, float]
                      ) -> PartForecast:
    """The forecast with the given parts' monthly rate (and its interval) replaced."""
    idx = {p: i for i, p in enumerate(forecast.part_ids)}
    rate, low, high = (forecast.rate_per_month.copy(), forecast.rate_low.copy(),
                       forecast.rate_high.copy())
    method = forecast.method.copy()
    for part, value in units_per_month.items():
        i = idx.get(part)
        if i is None:
            continue
        rate[i] = low[i] = high[i] = float(value)
        method[i] = "override"
    return replace(forecast, rate_per_month=rate, rate_low=low, rate_high=high,
                   method=np.asarray(method, dtype=object))
