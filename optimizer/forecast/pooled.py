"""Empirical-Bayes pooling: a Gamma prior on monthly rates fitted across parts.

A part without an installed base has no catalog prior. Rather than a prior mean of 0 (which pulls
its rate toward zero: ``y / (n + k)``), it borrows one from similar parts: the rates of a pool of
parts are modelled as draws from one Gamma(shape ``a``, rate ``b``), so a part's total ``y`` over
``n`` observed months is negative binomial,

    P(y) = Gamma(a + y) / (Gamma(a) y!) * (b / (b + n))^a * (n / (b + n))^y,

and ``(a, b)`` are fitted by maximum marginal likelihood over the pool (Morris 1983; Casella 1985).
The part's posterior mean is then

    E[lambda | y] = (a + y) / (b + n) = w * y / n + (1 - w) * a / b,   w = n / (n + b),

between its own rate and the pool's mean, nearer its own the longer its history and the more the
pool's rates differ (small ``b``). Parts with an installed base keep the catalog prior
(:mod:`optimizer.forecast.bayes`); both kinds are computed per history window by
:func:`window_posterior`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from optimizer.forecast.bayes import GammaPosterior, poisson_gamma
from optimizer.forecast.intermittent import as_series

MIN_SHAPE, MAX_SHAPE = 1e-3, 1e4
"""Bounds on the fitted shape ``a``: a pool whose counts vary less than Poisson (no evidence of
differing rates) reaches the upper bound, i.e. every part gets nearly the pool's mean."""


@dataclass(frozen=True)
class GammaPrior:
    """Gamma(shape, rate) prior on a monthly rate; ``rate`` is in months of equivalent exposure."""

    shape: float
    rate: float

    @property
    def mean(self) -> float:
        """Prior mean rate, units per month."""
        return self.shape / self.rate


NO_POOL = GammaPrior(0.0, 1.0)
"""The prior of an empty pool or one without demand: mean 0 (the posterior is ``y / (1 + n)``)."""


def fit_pool_prior(units: np.ndarray, months: np.ndarray) -> GammaPrior:
    """Maximum-marginal-likelihood Gamma prior for parts with ``units`` over ``months``.

    Parts with no observed month carry no information and are ignored; a pool without any
    demand gets :data:`NO_POOL`.
    """
    y = np.asarray(units, dtype=float)
    n = np.asarray(months, dtype=float)
    if y.shape != n.shape:
        raise ValueError(f"units {y.shape} and months {n.shape} must have the same shape")
    if np.any(~np.isfinite(y)) or np.any(y < 0) or np.any(~np.isfinite(n)) or np.any(n < 0):
        raise ValueError("units and months must be finite and >= 0")
    seen = n > 0
    y, n = y[seen], n[seen]
    if y.sum() <= 0:
        return NO_POOL
    mean0 = y.sum() / n.sum()
    rates = y / n
    excess = rates.var() - np.mean(rates / n)  # between-part variance by moments, a start
    shape0 = np.clip(mean0**2 / excess, MIN_SHAPE, MAX_SHAPE) if excess > 0 else 1.0

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a = np.exp(theta[0])
        b = a / np.exp(theta[1])  # theta[1] = log mean
        lb, lbn = np.log(b), np.log(b + n)
        ll = special.gammaln(a + y) - special.gammaln(a) + a * lb - (a + y) * lbn
        # d ll / d a (b fixed) and d ll / d b (a fixed), then the chain rule to (log a, log m)
        da = special.digamma(a + y) - special.digamma(a) + lb - lbn
        db = a / b - (a + y) / (b + n)
        g_loga = a * (da.sum() + db.sum() / np.exp(theta[1]))
        g_logm = -b * db.sum()
        return -float(ll.sum()), -np.array([g_loga, g_logm])

    res = optimize.minimize(nll, np.array([np.log(shape0), np.log(mean0)]), jac=True,
                            method="L-BFGS-B",
                            bounds=[(np.log(MIN_SHAPE), np.log(MAX_SHAPE)), (None, None)])
    a, m = float(np.exp(res.x[0])), float(np.exp(res.x[1]))
    return GammaPrior(a, a / m)


def window_totals(y: np.ndarray, window: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(units, observed months) per series over the last ``window`` periods (None = all)."""
    y = as_series(y)
    if window is not None:
        if window < 1:
            raise ValueError(f"window must be >= 1 or None, got {window}")
        y = y[:, -window:]
    seen = ~np.isnan(y)
    return np.where(seen, y, 0.0).sum(axis=1), seen.sum(axis=1).astype(float)


def window_posterior(y: np.ndarray, prior_rate: np.ndarray, *, window: int | None,
                     strength_months: float = 12.0, groups: np.ndarray | None = None
                     ) -> tuple[GammaPosterior, np.ndarray]:
    """Posterior of each series' monthly rate from its last ``window`` periods.

    Parameters
    ----------
    y : (n, T) history, units per period (NaN = missing).
    prior_rate : (n,) catalog prior (installed base x failure rate), units per month; NaN where
        the part has no installed base: it takes the Gamma prior fitted over its group.
    strength_months : weight of a catalog prior, in months of history.
    groups : (n,) labels of similar parts pooled together (None = one pool of every series).

    Returns the posterior and (n,) the prior's weight in it, ``k / (k + months)`` (1 = the prior
    alone, 0 = the history alone).
    """
    y = as_series(y)
    m0 = np.asarray(prior_rate, dtype=float)
    if m0.shape != (len(y),):
        raise ValueError(f"prior_rate has shape {m0.shape}, expected {(len(y),)}")
    units, months = window_totals(y, window)
    pooled = np.isnan(m0)
    shape = np.zeros(len(y))
    rate = np.full(len(y), float(strength_months))
    if (~pooled).any():
        post = poisson_gamma(m0[~pooled], units[~pooled], months[~pooled], strength_months)
        shape[~pooled], rate[~pooled] = post.shape, post.rate
    if pooled.any():
        labels = np.zeros(len(y), dtype=np.int64) if groups is None else np.asarray(groups)
        if labels.shape != (len(y),):
            raise ValueError(f"groups has shape {labels.shape}, expected {(len(y),)}")
        for g in np.unique(labels[pooled]):
            members = labels == g
            prior = fit_pool_prior(units[members], months[members])
            take = members & pooled
            shape[take] = prior.shape + units[take]
            rate[take] = prior.rate + months[take]
    prior_weight = (rate - months) / rate
    return GammaPosterior(shape, rate), prior_weight
