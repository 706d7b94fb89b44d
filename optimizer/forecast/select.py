"""Per-part forecast: method choice by rolling-origin backtest, Bayesian update otherwise.

A part qualifies for method selection when its history has at least ``min_months`` months and
``min_demand_months`` months with demand; the candidates (the intermittent methods and the
Bayesian posterior mean as a path) are scored by rolling-origin MSE over the last
``selection_origins`` origins (equivalently sMSE: the scale is common to one series, see
:mod:`optimizer.forecast.backtest`) and the best one forecasts. Every other part takes the
Poisson-gamma posterior mean (:mod:`optimizer.forecast.bayes`), so a part with little history stays
near its installed-base prior.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from inventory.domain import DemandRecord, Scenario
from optimizer.forecast.backtest import rolling_errors
from optimizer.forecast.bayes import poisson_gamma
from optimizer.forecast.intermittent import METHODS, as_series
from optimizer.forecast.prior import prior_rates

BAYES = "bayes"


@dataclass(frozen=True, eq=False)
class PartForecast:
    """Forecast demand per part (units per month) and how it was made.

    Attributes
    ----------
    part_ids : (P,) part ids, catalog order.
    rate_per_month : (P,) forecast, units per month (flat over the coming months).
    prior_rate_per_month : (P,) installed base x annual failure rate / 12.
    posterior_rate_per_month : (P,) Poisson-gamma posterior mean.
    method : (P,) name of the method that produced ``rate_per_month``.
    months : history months (YYYY-MM) the forecast used.
    """

    part_ids: tuple[str, ...]
    rate_per_month: np.ndarray
    prior_rate_per_month: np.ndarray
    posterior_rate_per_month: np.ndarray
    method: np.ndarray
    months: tuple[str, ...]

    @property
    def rate_per_year(self) -> np.ndarray:
        return self.rate_per_month * 12.0

    def method_counts(self) -> dict[str, int]:
        names, counts = np.unique(self.method.astype(str), return_counts=True)
        return {str(n): int(c) for n, c in zip(names, counts, strict=True)}


def month_range(first: str, last: str) -> tuple[str, ...]:
    """Every month YYYY-MM from ``first`` to ``last`` inclusive."""
    y0, m0 = map(int, first.split("-"))
    y1, m1 = map(int, last.split("-"))
    out = []
    y, m = y0, m0
    while (y, m) <= (y1, m1):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def history_matrix(records: Iterable[DemandRecord], part_ids: Sequence[str],
                   months: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """(P, T) units per part and month summed over sites; a month without a record is 0 demand.

    ``months`` defaults to every month from the first to the last record.
    """
    recs = list(records)
    if months is None:
        if not recs:
            return np.zeros((len(part_ids), 0)), ()
        ms = sorted({r.month for r in recs})
        months = month_range(ms[0], ms[-1])
    months = tuple(months)
    pix = {p: i for i, p in enumerate(part_ids)}
    mix = {m: i for i, m in enumerate(months)}
    rows, cols, qty = [], [], []
    for r in recs:
        if r.part_id in pix and r.month in mix:
            rows.append(pix[r.part_id])
            cols.append(mix[r.month])
            qty.append(r.quantity)
    out = np.zeros((len(part_ids), len(months)))
    np.add.at(out, (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)),
              np.array(qty, dtype=float))
    return out, months


def bayes_path(y: np.ndarray, prior_rate: np.ndarray, strength_months: float) -> np.ndarray:
    """Posterior mean after each prefix of ``y``: (n, T + 1), column 0 is the prior."""
    y = as_series(y)
    seen = ~np.isnan(y)
    tot = np.concatenate([np.zeros((len(y), 1)), np.cumsum(np.where(seen, y, 0.0), axis=1)], axis=1)
    n = np.concatenate([np.zeros((len(y), 1)), np.cumsum(seen, axis=1)], axis=1)
    return poisson_gamma(np.broadcast_to(np.asarray(prior_rate, float)[:, None], tot.shape), tot, n,
                         strength_months).mean


def select_methods(y: np.ndarray, prior_rate: np.ndarray, *, strength_months: float = 12.0,
                   selection_origins: int = 6, horizon: int = 3, min_months: int = 18,
                   min_demand_months: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(method name per series, its forecast per series) as described in the module docstring."""
    y = as_series(y)
    n, T = y.shape
    post = bayes_path(y, prior_rate, strength_months)
    method = np.full(n, BAYES, dtype=object)
    value = post[:, -1].copy()
    seen = ~np.isnan(y)
    enough = (seen.sum(axis=1) >= min_months) & ((np.nan_to_num(y) > 0).sum(axis=1)
                                                 >= min_demand_months)
    if selection_origins >= T or not enough.any():
        return method, value
    paths = {name: fn(y[enough]) for name, fn in METHODS.items()}
    paths[BAYES] = post[enough]
    names = list(paths)
    mse = np.stack([rolling_errors(y[enough], paths[k], selection_origins, horizon).mse
                    for k in names], axis=1)
    best = np.argmin(np.where(np.isnan(mse), np.inf, mse), axis=1)
    idx = np.nonzero(enough)[0]
    method[idx] = np.array(names, dtype=object)[best]
    value[idx] = np.stack([paths[k][:, -1] for k in names], axis=1)[np.arange(len(idx)), best]
    return method, value


def forecast_scenario(scenario: Scenario, *, strength_months: float = 12.0,
                      months: Sequence[str] | None = None, **select_kw: int) -> PartForecast:
    """Per-part monthly forecast from the scenario's installed base and demand history."""
    prior = prior_rates(scenario, by="part")
    part_ids = tuple(prior.keys)
    y, ms = history_matrix(scenario.demand_history, part_ids, months)
    if y.shape[1] == 0:
        m0 = prior.rate_per_month
        return PartForecast(part_ids, m0.copy(), m0, m0.copy(),
                            np.full(len(part_ids), BAYES, dtype=object), ())
    post = poisson_gamma(prior.rate_per_month, y.sum(axis=1), np.full(len(part_ids), y.shape[1]),
                         strength_months).mean
    method, value = select_methods(y, prior.rate_per_month, strength_months=strength_months,
                                   **select_kw)
    return PartForecast(part_ids, np.maximum(value, 0.0), prior.rate_per_month, post, method, ms)
