"""The default forecast: a combination of Poisson-gamma posteriors over several history windows.

Each candidate is the posterior mean rate of a part from its last ``W`` months
(:func:`optimizer.forecast.pooled.window_posterior`: the installed-base prior where the part has
one, the pooled prior of similar parts otherwise), for ``W`` in :data:`WINDOWS`: short windows
follow level shifts, long ones average out noise. The forecast is their convex combination, the
weights one set for all parts, chosen by a rolling-origin backtest **inside the history**: at
every origin ``o`` from ``min_months`` to ``T - 1`` the candidates are computed from
``y[:, :o]`` alone (pool priors refitted) and scored on months ``o .. o + horizon - 1`` that lie
inside the history, each (series, origin) weighted by ``1 / (count x in-sample mean^2)`` so the
weights minimise the mean scaled MSE (:mod:`optimizer.forecast.backtest`). No month after the
history is read, so a backtest that hands this function ``y[:, :t]`` scores it out of sample.
Combining (Bates & Granger 1969) rather than choosing one window per part avoids the selection
noise that made per-series selection lose to a fixed moving average.

With fewer than ``min_months + 1`` months there is no origin to learn from, and the whole-history
posterior (``None`` in :data:`WINDOWS`) forecasts alone.

The interval is that of a Gamma distribution with the mean and variance of the weighted mixture of
the candidates' posteriors (moment matching): a credible interval for the monthly rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from optimizer.forecast.backtest import scales
from optimizer.forecast.intermittent import as_series
from optimizer.forecast.pooled import window_posterior

WINDOWS: tuple[int | None, ...] = (3, 6, 12, 24, None)
"""History windows of the candidates, months (None = the whole history)."""


def window_label(window: int | None) -> str:
    return "all" if window is None else f"{window}m"


@dataclass(frozen=True, eq=False)
class RateForecast:
    """Per series: forecast monthly rate, its interval and how it was made.

    Attributes
    ----------
    rate, low, high : (n,) units per month; ``[low, high]`` is the central ``level`` interval.
    prior_weight : (n,) the prior's share of the forecast (0 = history alone, 1 = prior alone).
    pooled : (n,) bool, the prior came from the pool (no installed base).
    weights : window label -> combination weight (sums to 1).
    origins : number of backtest origins the weights were fitted on (0 = not fitted).
    """

    rate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    prior_weight: np.ndarray
    pooled: np.ndarray
    weights: dict[str, float]
    origins: int
    level: float


def _candidates(y: np.ndarray, prior_rate: np.ndarray, windows: Sequence[int | None],
                strength_months: float, groups: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, K) posterior means, (n, K) posterior variances, (n, K) prior weights."""
    outs = [window_posterior(y, prior_rate, window=w, strength_months=strength_months,
                             groups=groups) for w in windows]
    return (np.stack([p.mean for p, _ in outs], axis=1), np.stack([p.var for p, _ in outs], axis=1),
            np.stack([pw for _, pw in outs], axis=1))


def combination_weights(y: np.ndarray, prior_rate: np.ndarray, *,
                        windows: Sequence[int | None] = WINDOWS, strength_months: float = 12.0,
                        min_months: int = 12, horizon: int = 12,
                        groups: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(K,) convex weights of the window candidates and the number of origins they rest on."""
    y = as_series(y)
    n, T = y.shape
    K = len(windows)
    if min_months < 1 or horizon < 1:
        raise ValueError("min_months and horizon must be >= 1")
    gram = np.zeros((K, K))
    cross = np.zeros(K)
    origins = 0
    for o in range(min_months, T):
        ahead = y[:, o: min(T, o + horizon)]
        seen = ~np.isnan(ahead)
        count = seen.sum(axis=1)
        _, sq = scales(y[:, :o])  # in-sample mean^2, NaN where 0
        use = (count > 0) & ~np.isnan(sq)
        if not use.any():
            continue
        mean = _candidates(y[:, :o], prior_rate, windows, strength_months, groups)[0][use]
        w = 1.0 / (count[use] * sq[use])
        total = np.where(seen[use], ahead[use], 0.0).sum(axis=1)
        # sum_h w (F b - y_h)^2 = b' (w count F F') b - 2 b' (w F sum_h y_h) + const
        gram += (mean * (w * count[use])[:, None]).T @ mean
        cross += mean.T @ (w * total)
        origins += 1
    if origins == 0:
        b = np.array([1.0 if w is None else 0.0 for w in windows])
        return (b if b.sum() > 0 else np.full(K, 1.0 / K)), 0
    scale_q = max(float(np.trace(gram)), 1e-300)  # keep the QP well scaled
    res = optimize.minimize(
        lambda b: (b @ gram @ b - 2.0 * cross @ b) / scale_q, np.full(K, 1.0 / K),
        jac=lambda b: (2.0 * gram @ b - 2.0 * cross) / scale_q, method="SLSQP",
        bounds=[(0.0, 1.0)] * K, constraints=[{"type": "eq", "fun": lambda b: b.sum() - 1.0,
                                               "jac": lambda b: np.ones(K)}])
    b = np.where(res.x > 1e-9, res.x, 0.0)
    return b / b.sum(), origins


def forecast_rates(y: np.ndarray, prior_rate: np.ndarray, *,
                   windows: Sequence[int | None] = WINDOWS, strength_months: float = 12.0,
                   min_months: int = 12, horizon: int = 12, level: float = 0.9,
                   groups: np.ndarray | None = None) -> RateForecast:
    """The default forecast of every series (see the module docstring).

    ``prior_rate`` (n,) is the installed-base prior in units per month, NaN where a part has no
    installed base (it takes the pooled prior of its ``groups`` label, one pool if None).
    """
    y = as_series(y)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not windows:
        raise ValueError("windows must not be empty")
    # a window as long as the history is the whole history: keep one of them
    windows = list(dict.fromkeys(None if w is not None and w >= y.shape[1] else w for w in windows))
    prior = np.asarray(prior_rate, dtype=float)
    if prior.shape != (len(y),):
        raise ValueError(f"prior_rate has shape {prior.shape}, expected {(len(y),)}")
    if np.any(prior[~np.isnan(prior)] < 0) or np.any(np.isinf(prior)):
        raise ValueError("prior_rate must be >= 0 and finite (NaN = no installed base)")
    b, origins = combination_weights(y, prior, windows=windows, strength_months=strength_months,
                                     min_months=min_months, horizon=horizon, groups=groups)
    mean, var, pw = _candidates(y, prior, windows, strength_months, groups)
    rate = mean @ b
    second = (var + mean**2) @ b
    spread = np.clip(second - rate**2, 0.0, None)
    ok = (rate > 0) & (spread > 0)
    shape = np.where(ok, rate**2 / np.where(ok, spread, 1.0), 1.0)
    scale = np.where(ok, spread / np.where(ok, rate, 1.0), 1.0)
    tail = (1.0 - level) / 2.0
    low = np.where(ok, stats.gamma.ppf(tail, shape, scale=scale), rate)
    high = np.where(ok, stats.gamma.ppf(1.0 - tail, shape, scale=scale), rate)
    return RateForecast(rate=rate, low=low, high=high, prior_weight=pw @ b, pooled=np.isnan(prior),
                        weights={window_label(w): float(v) for w, v in zip(windows, b, strict=True)},
                        origins=origins, level=level)
