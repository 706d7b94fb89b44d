"""Per-part forecast of a scenario: the installed-base prior, the dispatch history and the pool.

:func:`forecast_scenario` builds the (part x month) history and the installed-base prior and hands
them to the default forecast, :func:`optimizer.forecast.combine.forecast_rates` (Poisson-gamma
posteriors over several history windows, combined with weights learnt on the history itself).
Parts with an installed base keep the catalog prior (installed units x annual failure rate);
parts without one borrow the prior of the other parts (:mod:`optimizer.forecast.pooled`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from inventory.domain import DemandRecord, Scenario
from optimizer.forecast.bayes import poisson_gamma
from optimizer.forecast.combine import forecast_rates
from optimizer.forecast.intermittent import as_series
from optimizer.forecast.prior import prior_rates

COMBINATION, PRIOR_ONLY, NO_DATA = "window_combination", "prior", "none"
"""``PartForecast.method`` values: the combined window posteriors (the part has history months),
the installed-base prior alone (no history), nothing to forecast from (rate 0)."""


@dataclass(frozen=True, eq=False)
class PartForecast:
    """Forecast demand per part (units per month) and how it was made.

    Attributes
    ----------
    part_ids : (P,) part ids, catalog order.
    rate_per_month : (P,) forecast, units per month (flat over the coming months).
    rate_low, rate_high : (P,) central ``level`` credible interval of the monthly rate.
    prior_rate_per_month : (P,) installed base x annual failure rate / 12 (0 without a base).
    prior_weight : (P,) the prior's share of the forecast (0 = history alone, 1 = prior alone).
    method : (P,) :data:`COMBINATION`, :data:`PRIOR_ONLY` or :data:`NO_DATA`.
    source : (P,) ``installed_base``, ``pool`` (prior from similar parts) or ``none``.
    history : (P, T) units per month over ``months``.
    weights : history window -> combination weight (one set for every part).
    """

    part_ids: tuple[str, ...]
    rate_per_month: np.ndarray
    rate_low: np.ndarray
    rate_high: np.ndarray
    prior_rate_per_month: np.ndarray
    prior_weight: np.ndarray
    method: np.ndarray
    source: np.ndarray
    months: tuple[str, ...]
    history: np.ndarray
    weights: dict[str, float]
    level: float = 0.9

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


def forecast_scenario(scenario: Scenario, *, strength_months: float = 12.0,
                      months: Sequence[str] | None = None, level: float = 0.9,
                      planned_elsewhere: Collection[str] = (), **combine_kw) -> PartForecast:
    """Per-part monthly forecast from the scenario's installed base and demand history.

    ``planned_elsewhere`` are parts whose demand another part carries (superseded parts, see
    :mod:`optimizer.supersession`): they get rate 0 and method :data:`NO_DATA` and stay
    out of the pool. ``combine_kw`` passes ``windows``, ``min_months``, ``horizon`` and ``groups``
    on to :func:`optimizer.forecast.combine.forecast_rates`.
    """
    prior = prior_rates(scenario, by="part")
    part_ids = tuple(prior.keys)
    y, ms = history_matrix(scenario.demand_history, part_ids, months)
    P = len(part_ids)
    live = ~np.isin(np.array(part_ids, dtype=object), list(planned_elsewhere))
    has_base = (prior.installed_units > 0) & live
    rate, low, high = np.zeros(P), np.zeros(P), np.zeros(P)
    prior_weight = np.ones(P)
    method = np.full(P, NO_DATA, dtype=object)
    source = np.where(has_base, "installed_base", "none").astype(object)
    weights: dict[str, float] = {}
    if y.shape[1] == 0:
        post = poisson_gamma(np.where(has_base, prior.rate_per_month, 0.0), np.zeros(P),
                             np.zeros(P), strength_months)
        tail = (1.0 - level) / 2.0
        rate, low, high = post.mean, post.quantile(tail), post.quantile(1.0 - tail)
        method[has_base] = PRIOR_ONLY
    elif live.any():
        groups = combine_kw.pop("groups", None)
        fc = forecast_rates(y[live], np.where(has_base, prior.rate_per_month, np.nan)[live],
                            strength_months=strength_months, level=level,
                            groups=None if groups is None else np.asarray(groups)[live],
                            **combine_kw)
        rate[live], low[live], high[live] = np.maximum(fc.rate, 0.0), fc.low, fc.high
        prior_weight[live] = fc.prior_weight
        method[live] = COMBINATION
        source[live & ~has_base] = "pool"
        weights = fc.weights
    return PartForecast(part_ids, rate, low, high, prior.rate_per_month, prior_weight, method,
                        source, ms, y, weights, level)
