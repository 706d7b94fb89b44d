"""Class targets the solvers aim at: the contract targets, capped below what the network can reach."""

from __future__ import annotations

import numpy as np

from optimizer.stocking.problem import StockingProblem

CEILING_MARGIN = 0.005
"""A target above the model's ceiling (all stock infinite) is capped at ceiling - this margin."""


def class_ceiling(problem: StockingProblem) -> np.ndarray:
    """(C,) on-time share per class if every preferred location always had stock."""
    p_first = problem.stream_p_on_time[:, 0]
    shares = np.bincount(problem.stream_class,
                         weights=np.where(problem.stream_in_service,
                                          problem.stream_rate_per_year * p_first, 0.0),
                         minlength=problem.n_classes)
    D = problem.class_demand_per_year
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(D > 0, shares / np.where(D > 0, D, 1), np.nan)


def effective_targets(problem: StockingProblem) -> tuple[np.ndarray, list[str]]:
    """Targets capped below the ceiling, with a note per capped or unconstrained class."""
    ceiling = class_ceiling(problem)
    eff = problem.class_target.copy()
    notes: list[str] = []
    D = problem.class_demand_per_year
    for c in range(problem.n_classes):
        label = problem.class_label(c)
        if np.isnan(eff[c]):
            notes.append(f"{label}: no part deadline (response milestone), not constrained")
        elif D[c] <= 0:
            notes.append(f"{label}: no demand")
            eff[c] = np.nan
        elif eff[c] > ceiling[c] - CEILING_MARGIN:
            capped = max(0.0, ceiling[c] - CEILING_MARGIN)
            notes.append(f"{label}: target {eff[c]:.4f} is above what the network can reach "
                         f"({ceiling[c]:.4f} with stock everywhere); aiming at {capped:.4f}")
            eff[c] = capped
    return eff, notes
