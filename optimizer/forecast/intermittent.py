"""Intermittent-demand forecasting methods, vectorised over many series with numpy.

Every method takes ``y`` of shape (n_series, n_periods) (NaN = missing period) and returns the
**forecast path** ``f`` of shape (n_series, n_periods + 1): ``f[:, t]`` is the flat forecast (units
per period, for every future period) made after observing ``y[:, :t]``. ``f[:, -1]`` is the forecast
after the whole history, ``f[:, 0]`` the forecast with no data (0). A rolling-origin backtest reads
all origins from one pass.

Missing periods (NaN) change no state: the methods skip them (Croston and SBA also do not count
them in the inter-demand interval; TSB does not decay its probability over them).

Conventions (Croston 1972; Syntetos & Boylan 2005; Teunter, Syntetos & Babai 2011):

* Croston: at the first non-zero demand the size ``z`` is that demand and the interval ``p`` the
  number of observed periods up to and including it; afterwards, at each non-zero demand ``y_t``
  after ``q`` observed periods since the previous one, ``z += alpha (y_t - z)`` and
  ``p += alpha (q - p)``. Forecast ``z / p``; 0 before any demand.
* SBA: Croston times ``(1 - alpha / 2)``.
* TSB: the same initial ``z``; demand probability ``d`` starts at ``1 / p`` (as Croston's) and is
  updated every observed period after the first demand, ``d += beta (1[y_t > 0] - d)``; ``z`` is
  updated only at demands, ``z += alpha (y_t - z)``. Forecast ``d z``.
* naive: the last observed value. moving average: mean of the last ``window`` observed values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Method = Callable[[np.ndarray], np.ndarray]


def as_series(y: np.ndarray) -> np.ndarray:
    """``y`` as a float (n_series, n_periods) array; ValueError for negative or infinite values."""
    arr = np.asarray(y, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"demand history must be 1-D or 2-D, got shape {arr.shape}")
    finite = arr[~np.isnan(arr)]
    if np.any(~np.isfinite(finite)) or np.any(finite < 0):
        raise ValueError("demand history must hold finite values >= 0 (NaN = missing)")
    return arr


def _check_alpha(name: str, a: float) -> None:
    if not 0 < a <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {a}")


def croston_path(y: np.ndarray, alpha: float = 0.1, *, debias: float = 1.0) -> np.ndarray:
    """Croston's forecast path (see the module docstring); ``debias`` multiplies every forecast."""
    _check_alpha("alpha", alpha)
    y = as_series(y)
    n, T = y.shape
    z = np.zeros(n)
    p = np.ones(n)
    started = np.zeros(n, dtype=bool)
    q = np.zeros(n)  # observed periods since the last demand (or since the start)
    out = np.zeros((n, T + 1))
    for t in range(T):
        yt = y[:, t]
        seen = ~np.isnan(yt)
        q = q + seen
        hit = seen & (np.nan_to_num(yt) > 0)
        first = hit & ~started
        later = hit & started
        z = np.where(first, yt, np.where(later, z + alpha * (np.nan_to_num(yt) - z), z))
        p = np.where(first, q, np.where(later, p + alpha * (q - p), p))
        started |= hit
        q = np.where(hit, 0.0, q)
        out[:, t + 1] = np.where(started, debias * z / p, 0.0)
    return out


def sba_path(y: np.ndarray, alpha: float = 0.1) -> np.ndarray:
    """Syntetos-Boylan approximation: Croston times ``1 - alpha / 2``."""
    return croston_path(y, alpha, debias=1.0 - alpha / 2.0)


def tsb_path(y: np.ndarray, alpha: float = 0.1, beta: float = 0.1) -> np.ndarray:
    """Teunter-Syntetos-Babai forecast path (see the module docstring)."""
    _check_alpha("alpha", alpha)
    _check_alpha("beta", beta)
    y = as_series(y)
    n, T = y.shape
    z = np.zeros(n)
    d = np.zeros(n)
    started = np.zeros(n, dtype=bool)
    q = np.zeros(n)
    out = np.zeros((n, T + 1))
    for t in range(T):
        yt = y[:, t]
        seen = ~np.isnan(yt)
        q = q + seen
        v = np.nan_to_num(yt)
        hit = seen & (v > 0)
        first = hit & ~started
        upd = seen & started
        d = np.where(first, 1.0 / np.maximum(q, 1.0), np.where(upd, d + beta * (hit - d), d))
        z = np.where(first, v, np.where(upd & hit, z + alpha * (v - z), z))
        started |= hit
        out[:, t + 1] = np.where(started, d * z, 0.0)
    return out


def naive_path(y: np.ndarray) -> np.ndarray:
    """Last observed value (0 before any observation)."""
    y = as_series(y)
    n, T = y.shape
    out = np.zeros((n, T + 1))
    last = np.zeros(n)
    for t in range(T):
        yt = y[:, t]
        last = np.where(np.isnan(yt), last, yt)
        out[:, t + 1] = last
    return out


def moving_average_path(y: np.ndarray, window: int = 12) -> np.ndarray:
    """Mean of the last ``window`` observed values (fewer at the start; 0 before any)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    y = as_series(y)
    n, T = y.shape
    seen = ~np.isnan(y)
    vals = np.where(seen, y, 0.0)
    # cumulative sums over observed values, then index the window's start by observed count
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(vals, axis=1)], axis=1)
    ccount = np.concatenate([np.zeros((n, 1)), np.cumsum(seen, axis=1)], axis=1)
    out = np.zeros((n, T + 1))
    rows = np.arange(n)
    for t in range(1, T + 1):
        k = ccount[:, t]
        s = _first_index_at(ccount[:, : t + 1], np.maximum(k - window, 0))
        total = csum[:, t] - csum[rows, s]
        cnt = k - ccount[rows, s]
        out[:, t] = np.where(cnt > 0, total / np.maximum(cnt, 1), 0.0)
    return out


def _first_index_at(ccount: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Per row, the first column where the non-decreasing ``ccount`` reaches ``level``."""
    return np.argmax(ccount >= level[:, None], axis=1)


METHODS: dict[str, Method] = {
    "naive": naive_path,
    "moving_average": moving_average_path,
    "croston": croston_path,
    "sba": sba_path,
    "tsb": tsb_path,
}
"""The intermittent-demand methods by name, each with its default smoothing constants."""
