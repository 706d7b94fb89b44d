"""Benchmark: the default forecast against every single method, on carparts and on model data.

1. ``carparts`` (``../shared/data/carparts/carparts.csv``): 2,000 monthly series of 51 months
   (empty cell = missing), no installed base (every part takes the pooled prior).

   a. The issue-13 protocol: the last 12 months held out, **one flat forecast per series** made
      from the first 39 months only (:func:`optimizer.forecast.backtest.holdout_errors` hands
      the method nothing else), MSE scaled by the in-sample mean squared (sMSE) and MAE scaled
      by the in-sample mean (sMAE), averaged over the series with a non-zero in-sample mean.
   b. Rolling origin over the last 12 months, horizons up to 12 (MASE and sMSE, ``rel_*`` =
      method / naive); the default is re-fitted at each origin on the months before it.

2. ``model``: Poisson demand at known monthly rates (log-uniform 0.02-5 units/month), 2,000
   series x 51 months, an installed-base prior off by a log-normal factor (sigma 0.5); the
   holdout protocol and each method's error against the *true* rate after all 51 months (what
   the stocking model consumes).

Methods: ``default`` = :func:`optimizer.forecast.combine.forecast_rates` (Poisson-gamma posteriors
over windows of 3, 6, 12, 24 months and the whole history, combined with weights fitted by a
backtest inside the history); ``pooled <W>`` = one of its candidates alone; ``bayes`` = the
whole-history Poisson-gamma posterior with a zero prior (carparts) or the installed-base prior
(model), strength 12 months; the intermittent methods of :mod:`optimizer.forecast.intermittent`.

Usage: ``python benchmarks/forecast_backtest.py [--carparts PATH] [--seed N]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.forecast.backtest import backtest_report, holdout_errors
from optimizer.forecast.combine import WINDOWS, forecast_rates, window_label
from optimizer.forecast.intermittent import METHODS
from optimizer.forecast.pooled import window_posterior
from optimizer.forecast.select import bayes_path

DEFAULT_CARPARTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "carparts" / "carparts.csv"

Forecaster = Callable[[np.ndarray], np.ndarray]


def load_carparts(path: Path) -> np.ndarray:
    df = pd.read_csv(path, index_col=0)
    return df.to_numpy(dtype=float)


def forecasters(prior: np.ndarray | None) -> dict[str, Forecaster]:
    """Every method as ``history -> (n,) flat forecast``; ``prior`` None = no installed base."""

    def m0(y: np.ndarray) -> np.ndarray:
        return np.full(len(y), np.nan) if prior is None else prior

    out: dict[str, Forecaster] = {"default": lambda y: forecast_rates(y, m0(y)).rate}
    for w in WINDOWS:
        out[f"pooled {window_label(w)}"] = (
            lambda y, w=w: window_posterior(y, m0(y), window=w)[0].mean)
    out["bayes"] = lambda y: bayes_path(y, np.zeros(len(y)) if prior is None else prior, 12.0)[:, -1]
    for name, fn in METHODS.items():
        out[name] = lambda y, fn=fn: fn(y)[:, -1]
    return out


def holdout_table(y: np.ndarray, prior: np.ndarray | None) -> pd.DataFrame:
    rows = []
    for name, fn in forecasters(prior).items():
        t0 = time.perf_counter()
        smse, smae, n = holdout_errors(y, fn, 12).means()
        rows.append({"method": name, "smse": smse, "smae": smae, "n_series": n,
                     "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows).set_index("method")


def default_path(y: np.ndarray, prior: np.ndarray | None, holdout: int) -> np.ndarray:
    """Forecast path of the default: at each origin, fitted on the data before it."""
    n, T = y.shape
    path = np.zeros((n, T + 1))
    m0 = np.full(n, np.nan) if prior is None else prior
    for t in range(T - holdout, T + 1):
        path[:, t] = forecast_rates(y[:, :t], m0).rate
    return path


def _show(title: str, df: pd.DataFrame) -> None:
    print(f"\n## {title}")
    print(df.round(4).to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--carparts", type=Path, default=DEFAULT_CARPARTS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    y = load_carparts(args.carparts)
    t0 = time.perf_counter()
    fit = forecast_rates(y[:, :-12], np.full(len(y), np.nan))
    print(f"carparts default, fitted on months 1-{y.shape[1] - 12}: weights "
          f"{ {k: round(v, 3) for k, v in fit.weights.items()} } over {fit.origins} origins "
          f"({time.perf_counter() - t0:.2f} s)")
    _show(f"carparts, last 12 months held out: {y.shape[0]} series x {y.shape[1]} months",
          holdout_table(y, None))
    t0 = time.perf_counter()
    rep = backtest_report(y, holdout=12, horizon=12, methods=METHODS,
                          paths={"default": default_path(y, None, 12),
                                 "bayes": bayes_path(y, np.zeros(len(y)), 12.0)})
    _show(f"carparts, rolling origin over the last 12 months ({time.perf_counter() - t0:.1f} s)",
          rep)

    rng = np.random.default_rng(args.seed)
    n, T = 2000, 51
    rate = np.exp(rng.uniform(np.log(0.02), np.log(5.0), n))
    sim = rng.poisson(rate[:, None], size=(n, T)).astype(float)
    prior = rate * np.exp(rng.normal(0.0, 0.5, n))
    tab = holdout_table(sim, prior)
    truth = []
    for name, fn in {**forecasters(prior), "prior alone": lambda h: prior}.items():
        err = fn(sim) - rate
        truth.append({"method": name, "mae_vs_true": float(np.mean(np.abs(err))),
                      "rel_mae_vs_true": float(np.mean(np.abs(err) / rate))})
    tab = pd.DataFrame(truth).set_index("method").join(tab, how="left")
    _show("model (Poisson at known rates, installed-base prior off by sigma 0.5)", tab)


if __name__ == "__main__":
    main()
