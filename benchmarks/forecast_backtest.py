"""Benchmark: rolling-origin backtest of the forecast methods against the naive forecast.

Two data sets:

1. ``carparts`` (``../shared/data/carparts/carparts.csv``): 2,000 monthly series of 51 months
   (empty cell = missing); the last 12 months are held out, origins roll over them with horizons
   up to 12.
2. ``model``: history drawn from the model itself: Poisson demand at known monthly rates (log-
   uniform between 0.02 and 5 units/month), 2,000 series x 51 months, with an installed-base prior
   that is off by a log-normal factor (sigma 0.5); the same backtest, plus each method's error
   against the *true* rate at the last origin (what the stocking model consumes).

Errors: MASE and sMSE (scaled MSE) per series, averaged; ``rel_*`` = method / naive (< 1 is
better). ``bayes`` is the Poisson-gamma posterior mean (prior strength 12 months; for carparts the
prior is each series' first-12-month mean, an installed-base stand-in).

Usage: ``python benchmarks/forecast_backtest.py [--carparts PATH] [--seed N]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.forecast.backtest import backtest_report
from optimizer.forecast.intermittent import METHODS
from optimizer.forecast.select import bayes_path, select_methods

DEFAULT_CARPARTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "carparts" / "carparts.csv"


def load_carparts(path: Path) -> np.ndarray:
    df = pd.read_csv(path, index_col=0)
    return df.to_numpy(dtype=float)


def selected_path(y: np.ndarray, prior: np.ndarray, holdout: int) -> np.ndarray:
    """Forecast path of the per-series selection: at each origin choose on the data before it."""
    n, T = y.shape
    path = np.zeros((n, T + 1))
    for t in range(T - holdout, T + 1):
        _, value = select_methods(y[:, :t], prior)
        path[:, t] = value
    return path


def report(name: str, y: np.ndarray, prior: np.ndarray, holdout: int = 12) -> pd.DataFrame:
    t0 = time.perf_counter()
    paths = {"bayes": bayes_path(y, prior, 12.0), "selected": selected_path(y, prior, holdout)}
    rep = backtest_report(y, holdout=holdout, horizon=12, methods=METHODS, paths=paths)
    print(f"\n## {name}: {y.shape[0]} series x {y.shape[1]} months, holdout {holdout} "
          f"({time.perf_counter() - t0:.1f} s)")
    print(rep.round(3).to_markdown() if _has_tabulate() else rep.round(3).to_string())
    return rep


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--carparts", type=Path, default=DEFAULT_CARPARTS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    y = load_carparts(args.carparts)
    prior = np.nan_to_num(np.nanmean(y[:, :12], axis=1))
    report("carparts", y, prior)

    rng = np.random.default_rng(args.seed)
    n, T = 2000, 51
    rate = np.exp(rng.uniform(np.log(0.02), np.log(5.0), n))
    sim = rng.poisson(rate[:, None], size=(n, T)).astype(float)
    prior = rate * np.exp(rng.normal(0.0, 0.5, n))
    report("model (Poisson at known rates)", sim, prior)
    paths = {k: fn(sim) for k, fn in METHODS.items()}
    paths["bayes"] = bayes_path(sim, prior, 12.0)
    paths["prior"] = np.broadcast_to(prior[:, None], (n, T + 1))
    paths["selected"] = selected_path(sim, prior, 1)
    print("\n## model: error against the true rate after all 51 months")
    rows = []
    for k, p in paths.items():
        err = p[:, -1] - rate
        rows.append({"method": k, "mae_vs_true": np.mean(np.abs(err)),
                     "rel_mae_vs_true": np.mean(np.abs(err) / rate)})
    tab = pd.DataFrame(rows).set_index("method").round(4)
    print(tab.to_markdown() if _has_tabulate() else tab.to_string())


if __name__ == "__main__":
    main()
