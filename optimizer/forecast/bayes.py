"""Poisson-gamma (conjugate) update of a failure rate with the observed dispatch history.

Demand of a part in a month is Poisson with rate ``lambda`` (units per month). The prior on
``lambda`` is Gamma(shape ``a0``, rate ``b0``) with mean the catalog prior ``m0`` (installed base x
annual failure rate / 12) and a strength of ``k`` months: ``a0 = m0 k``, ``b0 = k``. That prior
weighs as much as ``k`` months of observed history at the prior rate. After ``n`` observed months
with ``y`` units in total the posterior is Gamma(``a0 + y``, ``b0 + n``), so its mean is the
closed form

    E[lambda | y] = (m0 k + y) / (k + n) = w * y / n + (1 - w) * m0,   w = n / (n + k),

a credibility blend: a part with little history (small ``n`` relative to ``k``) stays near its
prior, a long history dominates. ``m0 = 0`` is allowed (posterior mean ``y / (k + n)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True, eq=False)
class GammaPosterior:
    """Gamma(shape, rate) beliefs on monthly rates, one per series (arrays of equal shape)."""

    shape: np.ndarray
    rate: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean rate (units per month)."""
        return self.shape / self.rate

    @property
    def var(self) -> np.ndarray:
        """Posterior variance of the rate ((units per month)^2)."""
        return self.shape / self.rate**2

    def quantile(self, q: float) -> np.ndarray:
        """Posterior ``q``-quantile of the rate (0 where the shape is 0)."""
        safe = np.where(self.shape > 0, self.shape, 1.0)
        out = stats.gamma.ppf(q, safe, scale=1.0 / self.rate)
        return np.where(self.shape > 0, out, 0.0)


def poisson_gamma(prior_rate: np.ndarray, total_units: np.ndarray, months_observed: np.ndarray,
                  strength_months: float = 12.0) -> GammaPosterior:
    """Posterior of the monthly rate given the prior mean and the observed totals.

    Parameters
    ----------
    prior_rate : prior mean rate per series (units per month), >= 0.
    total_units : observed demand per series over ``months_observed`` months, >= 0.
    months_observed : number of observed months per series, >= 0.
    strength_months : prior strength ``k`` (months of equivalent exposure), > 0.
    """
    m0 = np.asarray(prior_rate, dtype=float)
    y = np.asarray(total_units, dtype=float)
    n = np.asarray(months_observed, dtype=float)
    if not (np.isfinite(strength_months) and strength_months > 0):
        raise ValueError(f"strength_months must be > 0, got {strength_months}")
    for name, a in (("prior_rate", m0), ("total_units", y), ("months_observed", n)):
        if np.any(~np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must be finite and >= 0")
    return GammaPosterior(shape=m0 * strength_months + y, rate=strength_months + n)
