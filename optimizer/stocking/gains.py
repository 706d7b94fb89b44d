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
from optimizer.stocking.evaluate import Evaluation, level_moments, list_arrays
from optimizer.stocking.problem import StockingProblem


def availability_coefficients(problem: StockingProblem, ev: Evaluation,
                              prices: np.ndarray | None = None) -> np.ndarray:
    """(P, L, C) on-time demand per year gained per unit of availability at (part, location).

    With class ``prices`` (C,): (P, L, 1), the gains valued at those prices (the (P, L, C)
    result times ``prices``, summed over the classes, in one pass of C times fewer bins).
    """
    P, L, C = problem.n_parts, problem.n_locations, problem.n_classes
    flat_t, p_t, rate = list_arrays(problem)
    K = flat_t.shape[0]
    A_ext = np.append(ev.availability.ravel(), 0.0)
    a_t = A_ext[flat_t]
    out_t = np.subtract(1.0, a_t)  # (K, N): position k out of stock
    np.multiply(a_t, p_t, out=a_t)  # a_t now: filled and on time at position k
    suffix = np.zeros((K + 1, a_t.shape[1]))  # on-time share of positions k.. when reached
    for k in range(K - 1, -1, -1):
        np.multiply(out_t[k], suffix[k + 1], out=suffix[k])
        suffix[k] += a_t[k]
    prefix = a_t  # reused: probability that positions < k are all out
    if K:
        prefix[0] = 1.0
    for k in range(1, K):
        np.multiply(prefix[k - 1], out_t[k - 1], out=prefix[k])
    if prices is None:  # one bin per (part, location, class)
        idx, bins = flat_t * C + problem.stream_class, C
    else:  # priced: the classes summed in their (part, location) bin
        rate = rate * np.asarray(prices, dtype=float)[problem.stream_class]
        idx, bins = flat_t, 1
    prefix *= rate
    coef = np.subtract(p_t, suffix[1:], out=out_t)
    coef *= prefix
    out = np.bincount(idx.ravel(), weights=coef.ravel(), minlength=(P * L + 1) * bins)
    return out[:P * L * bins].reshape(P, L, bins)


def step_gains(problem: StockingProblem, S: np.ndarray, ev: Evaluation, step: int = 1,
               coef: np.ndarray | None = None) -> np.ndarray:
    """(P, L, C) predicted change of on-time demand per year per class if S[p, j] moves by ``step``.

    ``step`` is a whole number of units (negative: remove; entries that would go below 0 are 0).
    ``coef``: :func:`availability_coefficients` (P, L, C), or priced (P, L, 1) for the change
    valued at those prices (P, L, 1).
    """
    if coef is None:
        coef = availability_coefficients(problem, ev)
    P, L = S.shape
    out = np.zeros((P, L, coef.shape[2]))
    below = descendant_levels(problem.parent)
    leaves = np.array([j for j in range(L) if not below[j]], dtype=np.int64)
    m, v, S_l = ev.pipeline_mean[:, leaves], ev.pipeline_var[:, leaves], S[:, leaves]
    moved = S_l + step
    dA = backorder_stats(m, v, np.maximum(moved, 0))[0] - ev.availability[:, leaves]
    dA = np.where(moved >= 0, dA, 0.0)
    out[:, leaves, :] = dA[:, :, None] * coef[:, leaves, :]
    flat = [j for j in range(L) if len(below[j]) == 1]  # parents of leaves only
    if flat:
        _parents_of_leaves(problem, S, ev, step, coef, np.array(flat), below, out)
    for j in range(L):
        if len(below[j]) < 2:
            continue
        sub, dA_sub = _subtree_change(problem, S, ev, j, step, below[j])
        dA_sub[S[:, j] + step < 0] = 0.0
        out[:, j, :] = np.einsum("pl,plc->pc", dA_sub, coef[:, sub, :])
    return out


def _parents_of_leaves(problem: StockingProblem, S: np.ndarray, ev: Evaluation, step: int,
                       coef: np.ndarray, parents: np.ndarray, below: list[list[np.ndarray]],
                       out: np.ndarray) -> None:
    """:func:`_subtree_change` for every location in ``parents`` (each with one level of leaf
    children) at once, its change valued with ``coef`` written to ``out[:, parents, :]``: their
    subtrees are disjoint and a child's pipeline reads only its own parent's backorders, so one
    change per parent is computed for all parents together."""
    lam = ev.rate_per_year
    s_new = np.maximum(S[:, parents] + step, 0)
    A_p, ebo_p, vbo_p, _ = backorder_stats(ev.pipeline_mean[:, parents],
                                           ev.pipeline_var[:, parents], s_new)
    ebo, vbo = ev.backorders.copy(), ev.backorder_var.copy()
    ebo[:, parents], vbo[:, parents] = ebo_p, vbo_p
    kids = [below[j][0] for j in parents]
    children = np.concatenate(kids)
    m, v = level_moments(problem, lam, children, ebo, vbo)
    dA_c = backorder_stats(m, v, S[:, children])[0] - ev.availability[:, children]
    starts = np.cumsum([0] + [len(k) for k in kids[:-1]])
    value = np.add.reduceat(dA_c[:, :, None] * coef[:, children, :], starts, axis=1)
    value += (A_p - ev.availability[:, parents])[:, :, None] * coef[:, parents, :]
    value[S[:, parents] + step < 0] = 0.0
    out[:, parents, :] = value


def descendant_levels(parent: np.ndarray) -> list[list[np.ndarray]]:
    """Per location, its descendants level by level (children first); [] for a leaf."""
    L = len(parent)
    children = [np.nonzero(parent == j)[0] for j in range(L)]
    out: list[list[np.ndarray]] = []
    for j in range(L):
        levels, cur = [], children[j]
        while cur.size:
            levels.append(cur)
            cur = np.concatenate([children[c] for c in cur])
        out.append(levels)
    return out


def _subtree_change(problem: StockingProblem, S: np.ndarray, ev: Evaluation, j: int, step: int,
                    levels: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Locations ``j`` and its descendants (``levels``) and the change (P, n) of their
    availabilities when S[:, j] moves by ``step`` at the evaluation's resupply rates: ``j``'s own
    pipeline is unchanged, its backorders change and, through them, every descendant's pipeline
    (the rest of the network is untouched)."""
    lam = ev.rate_per_year
    ebo, vbo = ev.backorders.copy(), ev.backorder_var.copy()
    s_j = np.maximum(S[:, j] + step, 0)
    A_j, ebo[:, j], vbo[:, j], _ = backorder_stats(ev.pipeline_mean[:, j], ev.pipeline_var[:, j],
                                                   s_j)
    sub = [np.array([j])]
    dA = [(A_j - ev.availability[:, j])[:, None]]
    for js in levels:
        m, v = level_moments(problem, lam, js, ebo, vbo)
        A_new, ebo[:, js], vbo[:, js], _ = backorder_stats(m, v, S[:, js])
        sub.append(js)
        dA.append(A_new - ev.availability[:, js])
    return np.concatenate(sub), np.concatenate(dA, axis=1)
