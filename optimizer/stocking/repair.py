"""Top up a stock plan that falls just short of its targets in another model of the same network.

A plan made on one model is evaluated in another whose request lists differ a little: the
locate-then-stock plan (made on its network's own reach) in the design problem (reach with every
candidate open, :mod:`optimizer.design.problem`), or a network design's levels on the chosen
network's own reach. A class may then miss its target by a hair, and a master problem cannot take
the plan as it is. :func:`repair_levels` adds single units, each time the one with the most
on-time demand in the short classes per unit of value, until every class meets its target again.
"""

from __future__ import annotations

import numpy as np

from optimizer.stocking.columns import ColumnPool, evaluate_columns
from optimizer.stocking.master import ROW_SLACK, TARGET_MARGIN
from optimizer.stocking.problem import StockingProblem

MAX_UNITS = 500
"""Most units a repair adds before giving up (it is for small shortfalls)."""
CANDIDATES = 200
"""Units weighed per step: the (part, location) pairs on time for the most short demand."""
CHUNK = 50
"""Vectors evaluated at once (each copies all of its part's request streams)."""


def repair_levels(pr: StockingProblem, S: np.ndarray, targets: np.ndarray, is_open: np.ndarray,
                  max_units: int = MAX_UNITS, pool: ColumnPool | None = None,
                  upper: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """``(levels, met)``: ``S`` (P, L) plus the units added at open locations (``is_open`` (L,))
    until every constrained class meets ``targets`` (C,) with the master's margins; ``met``
    False if ``max_units`` did not get there. ``upper`` (P, L): most units a pair may take
    (planner maximums). Every vector evaluated (the returned levels' among them) joins ``pool``
    (a new one if None), e.g. a master's."""
    P, L, C = pr.n_parts, pr.n_locations, pr.n_classes
    D = pr.class_demand_per_year
    S = np.asarray(S, dtype=np.int64).copy()
    con = ~np.isnan(targets) & (D > 0)
    need = np.where(con, (np.nan_to_num(targets) + TARGET_MARGIN) * D + ROW_SLACK, 0.0)
    pool = ColumnPool(L, C) if pool is None else pool
    parts = np.arange(P)
    evaluate_columns(pr, parts, S, pool)
    ontime = pool.arrays()[3]
    contrib = ontime[pool.index(parts, S)]
    total = contrib.sum(axis=0)
    on = (pr.stream_pref >= 0) & (pr.stream_p_on_time > 0)
    for step in range(max_units + 1):
        short = con & (total < need)
        if not short.any():
            return S, True
        if step == max_units:
            break
        rows = np.nonzero(short[pr.stream_class] & pr.stream_in_service)[0]
        r, k = np.nonzero(on[rows])
        key = pr.stream_part[rows[r]] * L + pr.stream_pref[rows[r], k]
        pairs, inv = np.unique(key, return_inverse=True)
        weight = np.bincount(inv.ravel(), weights=pr.stream_rate_per_year[rows[r]],
                             minlength=len(pairs))
        keep = is_open[pairs % L]
        pairs, weight = pairs[keep], weight[keep]
        if not pairs.size:
            break
        pairs = pairs[np.argsort(-weight, kind="stable")[:CANDIDATES]]
        cp, cj = pairs // L, pairs % L
        vecs = S[cp].copy()
        vecs[np.arange(len(cp)), cj] += 1
        if upper is not None:
            fits = vecs[np.arange(len(cp)), cj] <= upper[cp, cj]
            cp, cj, vecs = cp[fits], cj[fits], vecs[fits]
            if not cp.size:
                break
        new = pool.index(cp, vecs) < 0  # only the changed part's vectors are new after a step
        evaluate_columns(pr, cp[new], vecs[new], pool, chunk=CHUNK)
        ontime = pool.arrays()[3]
        gain = ontime[pool.index(cp, vecs)] - contrib[cp]
        useful = np.minimum(np.maximum(gain, 0.0), np.maximum(need - total, 0.0)[None, :])
        score = (useful[:, short] / np.where(D[short] > 0, D[short], 1.0)).sum(axis=1)
        score = score / pr.unit_cost[cp]
        b = int(np.argmax(score))
        if score[b] <= 0:
            break
        p = int(cp[b])
        total += gain[b]
        contrib[p] += gain[b]
        S[p] = vecs[b]
    return S, False
