"""Class targets the solvers aim at: the contract targets, and what to do where none is reachable.

A class's **ceiling** is the on-time share it would reach if every location it can draw on always
had stock (the dispatch rule over the reach patterns: a request is on time when some location on
time at its moment has stock). A target at or below the ceiling is reachable and aimed at as it
is; a target above it cannot be met by any stock: the class is aimed at the ceiling minus
:data:`CEILING_MARGIN` (approaching a ceiling needs unbounded stock) and reported unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.stocking.problem import StockingProblem

CEILING_MARGIN = 0.005
"""An unreachable target (above the ceiling) is aimed at ceiling - this margin."""


def class_ceiling(problem: StockingProblem, allowed: np.ndarray | None = None) -> np.ndarray:
    """(C,) on-time share per class if every preferred location always had stock; ``allowed``
    (L,) bool: only those locations may hold stock (e.g. a network design's open locations).

    A stream counts with the on-time probability of its first entry that may hold stock (it
    fills there): the reach patterns put the locations on time at the request's moment first
    (``p_on_time`` 1), the tail's depots next (their share within the pattern), late ones last (0).
    """
    p = problem.stream_p_on_time
    if allowed is None:
        p_first = p[:, 0]
    else:
        pref = problem.stream_pref
        ok = (pref >= 0) & allowed[np.where(pref >= 0, pref, 0)]
        first = np.argmax(ok, axis=1)
        p_first = np.where(ok.any(axis=1), p[np.arange(len(first)), first], 0.0)
    shares = np.bincount(problem.stream_class,
                         weights=np.where(problem.stream_in_service,
                                          problem.stream_rate_per_year * p_first, 0.0),
                         minlength=problem.n_classes)
    D = problem.class_demand_per_year
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(D > 0, shares / np.where(D > 0, D, 1), np.nan)


@dataclass(frozen=True)
class TargetPlan:
    """Per class (C,): the contract ``target`` (NaN: no part deadline), the ``ceiling``, the
    share ``aimed_at`` (NaN: unconstrained) and whether the target is ``reachable``."""

    target: np.ndarray
    ceiling: np.ndarray
    aimed_at: np.ndarray
    reachable: np.ndarray
    notes: tuple[str, ...]


def target_plan(problem: StockingProblem, ceiling: np.ndarray | None = None) -> TargetPlan:
    """Aim at every reachable contract target as it is; cap unreachable ones below the ceiling
    (``ceiling`` overrides :func:`class_ceiling`, e.g. with some locations unavailable)."""
    ceiling = class_ceiling(problem) if ceiling is None else ceiling
    target = problem.class_target.copy()
    eff = target.copy()
    reachable = np.ones(problem.n_classes, dtype=bool)
    notes: list[str] = []
    D = problem.class_demand_per_year
    for c in range(problem.n_classes):
        label = problem.class_label(c)
        if np.isnan(eff[c]):
            notes.append(f"{label}: no part deadline (response milestone), not constrained")
        elif D[c] <= 0:
            notes.append(f"{label}: no demand")
            eff[c] = np.nan
        elif eff[c] > ceiling[c]:
            reachable[c] = False
            eff[c] = ceiling[c] - CEILING_MARGIN
            if eff[c] <= 0:
                eff[c] = np.nan
                notes.append(f"{label}: target {target[c]:.2%} is NOT reachable: no location "
                             "reaches these sites in time (see the sites holding it back)")
            else:
                notes.append(f"{label}: target {target[c]:.2%} is NOT reachable: with stock at "
                             f"every location the network reaches {ceiling[c]:.2%}; aiming at "
                             f"{eff[c]:.2%} (see the sites holding it back)")
    return TargetPlan(target, ceiling, eff, reachable, tuple(notes))


def effective_targets(problem: StockingProblem) -> tuple[np.ndarray, list[str]]:
    """The shares aimed at per class and the notes of :func:`target_plan`."""
    tp = target_plan(problem)
    return tp.aimed_at, list(tp.notes)
