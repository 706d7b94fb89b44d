"""Backtests of forecasts (rolling origin and holdout), scale-free errors and the per-method report.

Rolling origin: for each origin ``t`` in the last ``holdout`` periods, the flat forecast made after
``y[:, :t]`` (``path[:, t]``) is scored against every later period ``t + h - 1`` with
``h = 1 .. horizon`` that lies inside the series. Missing actuals are skipped.

Two scale-free errors per series (Hyndman & Koehler 2006; Kourentzes 2014 for intermittent demand):

* **MASE**: mean absolute error / in-sample mean absolute one-step naive error.
* **sMSE** (scaled MSE): mean squared error / (in-sample mean demand)^2. It rewards getting the
  *mean* right, which is what a stocking model consumes (MASE favours always-zero forecasts on
  intermittent series), so the default forecast's combination weights
  (:mod:`optimizer.forecast.combine`) minimise it.

"In-sample" is everything before the first origin. Series whose scale is 0 (no demand or no
change in sample) are left out of that error's aggregate and counted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.forecast.intermittent import METHODS, Method, as_series


@dataclass(frozen=True, eq=False)
class SeriesErrors:
    """Per-series rolling-origin errors of one method: (n_series,) arrays (NaN if unscored)."""

    mae: np.ndarray
    mse: np.ndarray
    mase: np.ndarray
    smse: np.ndarray


def scales(y_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MASE scale, sMSE scale) per series from the in-sample part ``y_in``; NaN where zero."""
    y_in = as_series(y_in)
    seen = ~np.isnan(y_in)
    order = np.argsort(~seen, axis=1, kind="stable")  # observed values first, in time order
    packed = np.take_along_axis(y_in, order, axis=1)
    count = seen.sum(axis=1)
    diffs = np.abs(np.diff(packed, axis=1))
    valid = np.arange(diffs.shape[1])[None, :] < (count - 1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mad = np.where(valid, diffs, 0.0).sum(axis=1) / (count - 1)
    mad = np.where(count >= 2, mad, np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.all(np.isnan(y_in), axis=1)[:, None], 0.0, y_in), axis=1)
    mad = np.where(mad > 0, mad, np.nan)
    sq = np.where(mean > 0, mean**2, np.nan)
    return mad, sq


def rolling_errors(y: np.ndarray, path: np.ndarray, holdout: int, horizon: int) -> SeriesErrors:
    """Errors of the forecast ``path`` (from a method in :mod:`intermittent`) over the last
    ``holdout`` origins with horizons up to ``horizon``."""
    y = as_series(y)
    n, T = y.shape
    if not 1 <= holdout < T:
        raise ValueError(f"holdout must be in [1, {T - 1}] for {T} periods, got {holdout}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    abs_sum = np.zeros(n)
    sq_sum = np.zeros(n)
    count = np.zeros(n)
    for t in range(T - holdout, T):
        actual = y[:, t: min(T, t + horizon)]
        err = path[:, t][:, None] - actual
        ok = ~np.isnan(actual)
        abs_sum += np.where(ok, np.abs(err), 0.0).sum(axis=1)
        sq_sum += np.where(ok, err**2, 0.0).sum(axis=1)
        count += ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = np.where(count > 0, abs_sum / count, np.nan)
        mse = np.where(count > 0, sq_sum / count, np.nan)
    mad, sq = scales(y[:, : T - holdout])
    return SeriesErrors(mae, mse, mae / mad, mse / sq)


@dataclass(frozen=True, eq=False)
class HoldoutErrors:
    """Per-series errors of one flat forecast over the held-out months: (n_series,) arrays, NaN
    where unscored. ``smse`` = MSE / in-sample mean^2, ``smae`` = MAE / in-sample mean."""

    forecast: np.ndarray
    smse: np.ndarray
    smae: np.ndarray

    def means(self) -> tuple[float, float, int]:
        """(mean sMSE, mean sMAE, number of series scored)."""
        ok = ~np.isnan(self.smse)
        return float(np.mean(self.smse[ok])), float(np.mean(self.smae[ok])), int(ok.sum())


def holdout_errors(y: np.ndarray, forecast: Callable[[np.ndarray], np.ndarray],
                   holdout: int = 12) -> HoldoutErrors:
    """Score ``forecast`` under the protocol "last ``holdout`` months held out, one flat forecast
    per series, errors scaled by the in-sample mean".

    ``forecast`` gets a copy of ``y[:, :T - holdout]`` only and returns (n,) units per period;
    series whose in-sample mean is 0 or that have no held-out observation are unscored.
    """
    y = as_series(y)
    n, T = y.shape
    if not 1 <= holdout < T:
        raise ValueError(f"holdout must be in [1, {T - 1}] for {T} periods, got {holdout}")
    f = np.asarray(forecast(y[:, : T - holdout].copy()), dtype=float)
    if f.shape != (n,):
        raise ValueError(f"the forecast returned shape {f.shape}, expected {(n,)}")
    ahead = y[:, T - holdout:]
    ok = ~np.isnan(ahead)
    count = ok.sum(axis=1)
    err = np.where(ok, f[:, None] - ahead, 0.0)
    _, sq = scales(y[:, : T - holdout])
    mean = np.sqrt(sq)
    with np.errstate(invalid="ignore", divide="ignore"):
        mse = np.where(count > 0, (err**2).sum(axis=1) / count, np.nan)
        mae = np.where(count > 0, np.abs(err).sum(axis=1) / count, np.nan)
    return HoldoutErrors(f, mse / sq, mae / mean)


def backtest_report(y: np.ndarray, *, holdout: int = 12, horizon: int = 12,
                    methods: Mapping[str, Method] | None = None,
                    paths: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Per-method errors against the naive forecast.

    Returns one row per method with ``mean_mase``, ``mean_smse`` (means over the series with a
    non-zero scale), ``rel_mase`` / ``rel_smse`` (the method's mean over the naive method's, < 1 is
    better than naive), ``win_share_smse`` (share of series where the method's sMSE beats naive)
    and ``n_series`` scored. ``paths`` adds precomputed forecast paths (e.g. the Bayesian one).
    """
    y = as_series(y)
    all_paths = {name: fn(y) for name, fn in (methods or METHODS).items()}
    all_paths.update(paths or {})
    if "naive" not in all_paths:
        all_paths["naive"] = METHODS["naive"](y)
    errs = {name: rolling_errors(y, p, holdout, horizon) for name, p in all_paths.items()}
    base = errs["naive"]
    rows = []
    for name, e in errs.items():
        ok_mase = ~np.isnan(e.mase) & ~np.isnan(base.mase)
        ok_smse = ~np.isnan(e.smse) & ~np.isnan(base.smse)
        m_mase = float(np.mean(e.mase[ok_mase])) if ok_mase.any() else float("nan")
        m_smse = float(np.mean(e.smse[ok_smse])) if ok_smse.any() else float("nan")
        b_mase = float(np.mean(base.mase[ok_mase])) if ok_mase.any() else float("nan")
        b_smse = float(np.mean(base.smse[ok_smse])) if ok_smse.any() else float("nan")
        rows.append({
            "method": name, "mean_mase": m_mase, "mean_smse": m_smse,
            "rel_mase": m_mase / b_mase if b_mase > 0 else float("nan"),
            "rel_smse": m_smse / b_smse if b_smse > 0 else float("nan"),
            "win_share_smse": float(np.mean(e.smse[ok_smse] < base.smse[ok_smse]))
            if ok_smse.any() else float("nan"),
            "n_series": int(ok_smse.sum()),
        })
    return pd.DataFrame(rows).set_index("method")
