"""Exact network design for small instances: every stock vector in a box, one MIP over all designs.

Every stock vector of every part within ``0 <= S[p, j] <= upper[p, j]`` is evaluated with the
stocking model and put into the design master (:mod:`optimizer.design.master`), whose location
variables then range over every design the planner's rules allow. HiGHS solves that MIP to a
proven gap, so the result is optimal for the model within the box, with the MIP's dual bound as
a lower bound over every design and every stock vector in the box. Only for small instances: the
number of vectors is the product of the box sizes per part.
"""

from __future__ import annotations

import time

import numpy as np

from optimizer.design.master import solve_design_master
from optimizer.design.problem import DesignProblem
from optimizer.design.result import DesignResult
from optimizer.design.solve import DesignObjective, design_targets
from optimizer.stocking.columns import ColumnPool, evaluate_columns
from optimizer.stocking.evaluate import evaluate_parts
from optimizer.stocking.exact import MAX_VECTORS, box_vectors

EXACT_GAP = 1e-6
"""Relative MIP gap the exact design is solved to."""


def solve_design_exact(dp: DesignProblem, upper: np.ndarray,
                       objective: DesignObjective = DesignObjective(), *,
                       time_limit_s: float = 120.0) -> DesignResult:
    """The optimal design and levels within the box ``upper`` (P, L) (see the module docstring).

    ``bound`` is the MIP's proven lower bound on the yearly cost (targets mode; None under a
    budget). ValueError if no design in the box meets the targets, or the box is too large."""
    t0 = time.perf_counter()
    pr = dp.stocking
    rules = objective.rules(dp)
    tp = design_targets(dp, rules)
    aimed = tp.aimed_at if objective.targets is None else np.asarray(objective.targets, float)
    upper = np.asarray(upper, dtype=np.int64).copy()
    upper[:, list(rules.force_closed)] = 0
    parts, vecs = box_vectors(upper, instead="the integrated design")
    pool = ColumnPool(pr.n_locations, pr.n_classes)
    t = time.perf_counter()
    evaluate_columns(pr, parts, vecs, pool)
    timings = {"vectors": time.perf_counter() - t}
    budget_mode = rules.budget is not None
    t = time.perf_counter()
    m = solve_design_master(pool, dp, None if budget_mode else aimed, rules,
                            time_limit_s=time_limit_s, mip_gap=EXACT_GAP)
    timings["mip"] = time.perf_counter() - t
    if m.choice is None or np.any(m.choice < 0):
        raise ValueError(f"no design meets the targets with stock levels in the box ({m.status})")
    S = pool.arrays()[1][m.choice]
    is_open = (m.open > 0.5) | ~dp.switchable
    ev = evaluate_parts(pr, S)
    total, fixed, inv = dp.yearly_cost(S, is_open)
    bound = None if budget_mode else max(0.0, min(float(m.bound), total))
    gap = None if bound is None or total <= 0 else max(0.0, (total - bound) / total)
    notes = (*tp.notes, f"exact design: {len(pool):,} stock vectors in the box (at most "
             f"{int(upper.max(initial=0))} units per part and location), MIP {m.status.lower()}")
    return DesignResult(is_open, S, ev, total, fixed, inv, aimed, bound, gap,
                        ev.meets_targets(pr, aimed), "exact", len(pool),
                        time.perf_counter() - t0, timings, notes)


def exact_box(levels: np.ndarray, margin: int = 2) -> np.ndarray:
    """The box around a heuristic solution: its levels plus the largest margin up to ``margin``
    units whose box holds at most :data:`MAX_VECTORS` vectors, at every location (also at those
    it leaves closed, so every design can be stocked). ValueError if even a margin of 1 is too
    large."""
    levels = np.asarray(levels, dtype=np.int64)
    for m in range(int(margin), 0, -1):
        n = int(np.prod(levels + m + 1, axis=1).sum())
        if n <= MAX_VECTORS:
            return levels + m
    raise ValueError(f"the exact method would enumerate {n:,} stock vectors (limit "
                     f"{MAX_VECTORS:,}); it is for small instances: use the integrated design")
