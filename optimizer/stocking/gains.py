"""First-order service gains of one more (or one fewer) unit at every (part, location).

The on-time share of a stream is multilinear in the availabilities of its preferred locations:
``d on_time / d A_k = prod_{l<k}(1 - A_l) (p_k - T_{k+1})`` where ``T_{k+1}`` is the on-time share
of the rest of the list. Holding the resupply rates fixed, a unit at a leaf depot changes only
its own availability (by the pipeline pmf at S); a unit at a location with children (the HQ) also
lowers the children's pipelines, which are recomputed. Gains are per class in on-time demand per
year and exact for one leaf change at fixed rates; the solvers re-evaluate the full model after
every batch, so the approximation only steers the search.
"""

from __future__ import annotations

import numpy as np

from optimizer.stocking.distributions import backorder_stats
from optimizer.stocking.evaluate import Evaluation, pipelines
from optimizer.stocking.problem import StockingProblem


def availability_coefficients(problem: StockingProblem, ev: Evaluation) -> np.ndarray:
    """(P, L, C) on-time demand per year gained per unit of availability at (part, location)."""
    P, L, C = problem.n_parts, problem.n_locations, problem.n_classes
    pref = problem.stream_pref
    K = pref.shape[1]
    # Transposed (K, N) layout, list position first (contiguous per-position steps); padding
    # points at an extra location index P * L with availability 0, dropped at the end.
    flat_t = np.ascontiguousarray(np.where(pref >= 0, problem.stream_part[:, None] * L + pref,
                                           P * L).T)
    A_ext = np.append(ev.availability.ravel(), 0.0)
    a_t = A_ext[flat_t]
    p_t = np.ascontiguousarray(problem.stream_p_on_time.T)
    suffix = np.zeros((K + 1, a_t.shape[1]))  # on-time share of positions k.. when reached
    for k in range(K - 1, -1, -1):
        np.multiply(1.0 - a_t[k], suffix[k + 1], out=suffix[k])
        suffix[k] += a_t[k] * p_t[k]
    prefix = np.empty_like(a_t)  # probability that positions < k are all out
    if K:
        prefix[0] = 1.0
    for k in range(1, K):
        np.multiply(prefix[k - 1], 1.0 - a_t[k - 1], out=prefix[k])
    rate = np.where(problem.stream_in_service, problem.stream_rate_per_year, 0.0)
    coef = rate * prefix * (p_t - suffix[1:])
    idx = flat_t * C + problem.stream_class
    out = np.bincount(idx.ravel(), weights=coef.ravel(), minlength=(P * L + 1) * C)
    return out[:P * L * C].reshape(P, L, C)


def step_gains(problem: StockingProblem, S: np.ndarray, ev: Evaluation, step: int = 1,
               coef: np.ndarray | None = None) -> np.ndarray:
    """(P, L, C) predicted change of on-time demand per year per class if S[p, j] moves by ``step``.

    ``step`` is a whole number of units (negative: remove; entries that would go below 0 are 0).
    """
    if coef is None:
        coef = availability_coefficients(problem, ev)
    P, L = S.shape
    out = np.zeros((P, L, problem.n_classes))
    has_children = np.zeros(L, dtype=bool)
    has_children[problem.parent[problem.parent >= 0]] = True
    order = problem.depth_order
    leaves = np.nonzero(~has_children)[0]
    m, v, S_l = ev.pipeline_mean[:, leaves], ev.pipeline_var[:, leaves], S[:, leaves]
    moved = S_l + step
    dA = backorder_stats(m, v, np.maximum(moved, 0))[0] - backorder_stats(m, v, S_l)[0]
    dA = np.where(moved >= 0, dA, 0.0)
    out[:, leaves, :] = dA[:, :, None] * coef[:, leaves, :]
    for j in np.nonzero(has_children)[0]:
        S2 = S.copy()
        S2[:, j] = np.maximum(S2[:, j] + step, 0)
        A2 = pipelines(problem, S2, ev.rate_per_year, order)[2]
        dA_all = A2 - ev.availability
        dA_all[S[:, j] + step < 0] = 0.0
        out[:, j, :] = np.einsum("pl,plc->pc", dA_all, coef)
    return out
