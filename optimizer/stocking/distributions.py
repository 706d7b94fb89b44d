"""Backorder statistics of a base-stock level against a Poisson or negative-binomial pipeline.

For a pipeline X (units in resupply) and base stock S, the location is out of stock when X >= S:

* availability ``P(X < S)`` (probability of stock on hand > 0, the fill rate of a one-for-one
  location under Poisson demand, by PASTA),
* expected backorders ``EBO = E[(X - S)^+]`` and their variance ``VBO = Var[(X - S)^+]``.

X is Poisson when its variance-to-mean ratio is 1 (or below: Poisson is used then) and
negative binomial with the same mean and variance otherwise (Graves 1985; Sherbrooke 2004,
ch. 4). Partial moments use the closed forms ``x f(x; n, p) = m f(x-1; n+1, p)`` and
``x(x-1) f(x; n, p) = n(n+1)(q/p)^2 f(x-2; n+2, p)`` (Poisson: ``m f(x-1)``, ``m^2 f(x-2)``) so
every figure is a handful of vectorised cdf calls, whatever S is. The cdfs are the regularised
incomplete gamma / beta functions of :mod:`scipy.special` (``P(X <= k) = Q(k + 1, m)`` for the
Poisson, ``I_p(n, k + 1)`` for the negative binomial), called directly: the ``scipy.stats``
wrappers cost more than the arithmetic at the sizes the solvers use.
"""

from __future__ import annotations

import numpy as np
from scipy import special

VMR_EPS = 1e-9
"""Variance-to-mean ratios within this of 1 are treated as Poisson."""


def backorder_stats(mean: np.ndarray, var: np.ndarray, S: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Availability, EBO, VBO and pmf at S of pipelines with ``mean``/``var`` under base stock ``S``.

    All inputs broadcast together; ``S`` holds whole numbers >= 0. Returns
    ``(P(X < S), E[(X-S)^+], Var[(X-S)^+], P(X = S))``; the last is the availability gained by
    one more unit of stock.
    """
    mean, var, S = np.broadcast_arrays(np.asarray(mean, float), np.asarray(var, float),
                                       np.asarray(S, float))
    mean = np.maximum(mean, 0.0)
    nb = var > mean * (1 + VMR_EPS)
    nb &= mean > 0
    F0 = np.empty(mean.shape)
    F1 = np.empty(mean.shape)
    F2 = np.empty(mean.shape)
    f0 = np.empty(mean.shape)
    m2 = np.empty(mean.shape)  # E[X(X-1)]
    po = ~nb
    if po.any():
        m, s = mean[po], S[po]
        F0[po] = _poisson_cdf(s - 1, m)
        F1[po] = _poisson_cdf(s - 2, m)
        F2[po] = _poisson_cdf(s - 3, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            f0[po] = np.where(m > 0, np.exp(special.xlogy(s, m) - m - special.gammaln(s + 1)),
                              (s == 0).astype(float))
        m2[po] = m * m
    if nb.any():
        m, v, s = mean[nb], var[nb], S[nb]
        p = m / v
        n = m * m / (v - m)
        F0[nb] = _nbinom_cdf(s - 1, n, p)
        F1[nb] = _nbinom_cdf(s - 2, n + 1, p)
        F2[nb] = _nbinom_cdf(s - 3, n + 2, p)
        q = 1 - p
        f0[nb] = np.exp(special.gammaln(s + n) - special.gammaln(n) - special.gammaln(s + 1)
                        + n * np.log(p) + special.xlog1py(s, -p))
        m2[nb] = n * (n + 1) * (q / p) ** 2
    var_eff = np.where(nb, var, mean)
    ex_below = mean * F1  # E[X 1{X<S}]
    ex2_below = m2 * F2 + ex_below  # E[X^2 1{X<S}]
    ebo = np.maximum(mean - S + S * F0 - ex_below, 0.0)
    short_sq = S * S * F0 - 2 * S * ex_below + ex2_below  # E[(S-X)^2 1{X<S}]
    over_sq = var_eff + (mean - S) ** 2 - short_sq  # E[((X-S)^+)^2]
    vbo = np.maximum(over_sq - ebo * ebo, 0.0)
    return F0, ebo, vbo, f0


def _poisson_cdf(k: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``P(X <= k)`` for X ~ Poisson(m), k whole (0 for k < 0; 1 for m = 0 and k >= 0)."""
    with np.errstate(invalid="ignore"):
        out = special.pdtr(np.maximum(k, 0), m)
    return np.where(k < 0, 0.0, out)


def _nbinom_cdf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``P(X <= k)`` for X ~ NB(n, p) (failures before the n-th success), k whole."""
    out = special.betainc(n, np.maximum(k, 0) + 1.0, p)
    return np.where(k < 0, 0.0, out)
