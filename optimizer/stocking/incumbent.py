"""A first incumbent for the master MIP, rounded from the pool LP (targets mode).

HiGHS's branch and bound finds its first plan by its own heuristics; at thousands of parts and
on a slow or busy machine it may find none within the time it is given, and which one it finds
moves with the column order. The LP over the same pool, once it meets the targets, says which
columns a plan should mix; taking for every part the column of its LP support that serves the
constrained classes most (shares weighted alike) gives a whole plan that is at least as rich in
every class as the LP's mix in the common case. :func:`lp_incumbent` returns it when it meets
every class row, so the MIP starts from it (and a plan exists whatever the MIP's time).
"""

from __future__ import annotations

import numpy as np

from optimizer.stocking.columns import ColumnPool


def lp_incumbent(pool: ColumnPool, x: np.ndarray, n_parts: int, demand: np.ndarray,
                 required: np.ndarray, support: float = 1e-9) -> np.ndarray | None:
    """(P,) one column per part from the LP solution ``x`` (M,), or None when that plan misses
    a class row: ``required`` (C,) on-time demand per year each class needs (NaN or 0: none)."""
    part, _, _, ontime = pool.arrays()
    x = np.asarray(x, dtype=float)
    if x.shape != part.shape:
        return None
    need = np.nan_to_num(np.asarray(required, dtype=float), nan=0.0)
    weight = np.where((need > 0) & (demand > 0), 1.0 / np.where(demand > 0, demand, 1.0), 0.0)
    score = ontime @ weight
    on = x > support
    if not np.all(np.bincount(part[on], minlength=n_parts) > 0):
        return None  # a part without a column in the LP's support
    # per part, the supported column of the largest score (ties: the lowest index)
    idx = np.nonzero(on)[0]
    order = np.lexsort((idx, -score[idx], part[idx]))
    first = np.ones(len(order), dtype=bool)
    first[1:] = part[idx[order]][1:] != part[idx[order]][:-1]
    choice = np.full(n_parts, -1, dtype=np.int64)
    chosen = idx[order[first]]
    choice[part[chosen]] = chosen
    if np.any(ontime[choice].sum(axis=0) < need - 1e-12):
        return None
    return choice
