"""Master problem over a column pool: one candidate vector per part (multiple-choice knapsack).

    min  sum_m cost_m x_m
    s.t. sum_{m of part p} x_m = 1                 for every part p
         sum_m ontime_mc x_m >= target_c D_c        for every constrained class c
         x_m in {0, 1}  (LP relaxation: 0 <= x_m <= 1)

or, under a budget, max sum_m ontime_m . 1 x_m with sum_m cost_m x_m <= budget. The LP gives
the class prices (duals, currency per on-time demand per year) for the pricing step; the MIP
(HiGHS branch and bound, time-limited) picks the plan. Built directly as a HiGHS sparse model
(no modelling layer), so hundreds of thousands of columns are cheap.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from dataclasses import dataclass

import highspy
import numpy as np

from optimizer.stocking.columns import ColumnPool

TARGET_MARGIN = 1e-7
"""Class constraints are met with this much share to spare (absorbs fixed-point tolerances)."""


ROW_SLACK = 1e-5
"""Added to every class row's requirement (on-time demand per year): HiGHS accepts MIP solutions
that violate a row by up to its feasibility tolerance (1e-6 absolute), more than TARGET_MARGIN
of a class with ~1 unit/year; tightening HiGHS's tolerances instead made the MIP much slower."""

_banner_lock = threading.Lock()
_banner_done = False


def quiet_highs() -> highspy.Highs:
    """A ``highspy.Highs`` with logging off.

    The first ``highspy.Highs()`` of a process prints a copyright banner to stdout from its
    constructor, before any option can be set (later ones print nothing). That one
    construction runs with file descriptor 1 pointed at /dev/null (C buffers flushed before it
    is restored), so neither this module nor PuLP's HiGHS (``exact.py``) writes to stdout.
    """
    global _banner_done
    with _banner_lock:
        if not _banner_done:
            _banner_done = True
            try:
                sys.stdout.flush()
                saved = os.dup(1)
            except (OSError, ValueError):  # no usable fd 1: nothing to protect
                saved = None
            if saved is not None:
                try:
                    with open(os.devnull, "wb") as null:
                        os.dup2(null.fileno(), 1)
                        h = highspy.Highs()
                        ctypes.CDLL(None).fflush(None)
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                h.setOptionValue("output_flag", False)
                return h
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@dataclass(frozen=True)
class MasterResult:
    """``choice`` (P,) column index per part (MIP), ``x`` (M,) solution values, ``prices`` (C,)
    class duals (LP; 0 for the MIP), ``objective``, ``bound`` (proven lower bound on the
    MIP objective, targets mode), ``status`` text, ``shortfall`` (C,) on-time demand short
    per class (slack, with ``penalty``)."""

    choice: np.ndarray | None
    x: np.ndarray
    prices: np.ndarray
    objective: float
    bound: float
    status: str
    shortfall: np.ndarray


def solve_master(pool: ColumnPool, n_parts: int, demand: np.ndarray, targets: np.ndarray | None,
                 *, budget: float | None = None, integer: bool = True, time_limit_s: float = 20.0,
                 mip_gap: float = 1e-6, penalty: np.ndarray | None = None) -> MasterResult:
    """Solve the master over ``pool``; ``targets`` (C,) NaN = unconstrained, or ``budget``.

    ``penalty`` (C,) adds a slack per class row at that cost per unit of on-time demand short
    (big-M phase 1 of column generation: the LP is always feasible, and a short class's dual
    equals its penalty, which steers the next pricing towards it); ``shortfall`` reports it.
    """
    part, _, cost, ontime = pool.arrays()
    M, C = ontime.shape
    cons = np.zeros(C, dtype=bool) if targets is None else (~np.isnan(targets) & (demand > 0))
    ci = np.nonzero(cons)[0]
    h = quiet_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_ = M
    if budget is None:
        lp.sense_ = highspy.ObjSense.kMinimize
        lp.col_cost_ = cost.astype(float)
        extra_rows = [ontime[:, c] for c in ci]
        lo_extra = [float((targets[c] + TARGET_MARGIN) * demand[c] + ROW_SLACK) for c in ci]
        hi_extra = [highspy.kHighsInf] * len(ci)
    else:
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.col_cost_ = ontime.sum(axis=1).astype(float)
        extra_rows = [cost]
        lo_extra = [-highspy.kHighsInf]
        hi_extra = [float(budget)]
    R = len(extra_rows)
    n_slack = len(ci) if (penalty is not None and budget is None) else 0
    lp.col_lower_ = np.zeros(M + n_slack)
    lp.col_upper_ = np.concatenate([np.ones(M), np.full(n_slack, highspy.kHighsInf)])
    if n_slack:
        lp.col_cost_ = np.concatenate([cost.astype(float), penalty[ci].astype(float)])
        lp.num_col_ = M + n_slack
    lp.num_row_ = n_parts + R
    lp.row_lower_ = np.concatenate([np.ones(n_parts), lo_extra])
    lp.row_upper_ = np.concatenate([np.ones(n_parts), hi_extra])
    # Column-wise sparse matrix: row part[m], then the R extra rows (dense).
    dense = np.stack(extra_rows, axis=1) if R else np.zeros((M, 0))
    idx = np.concatenate([part[:, None], n_parts + np.broadcast_to(np.arange(R), (M, R))], axis=1)
    val = np.concatenate([np.ones((M, 1)), dense], axis=1)
    keep = val != 0
    keep[:, 0] = True
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    start = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
    nnz = int(start[-1])
    lp.a_matrix_.start_ = np.concatenate([start[:-1], nnz + np.arange(n_slack + 1)]).astype(np.int32)
    lp.a_matrix_.index_ = np.concatenate([idx[keep], n_parts + np.arange(n_slack)]).astype(np.int32)
    lp.a_matrix_.value_ = np.concatenate([val[keep], np.ones(n_slack)]).astype(float)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * M
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    sol = h.getSolution()
    xs = np.asarray(sol.col_value)
    x, slack = xs[:M], xs[M:]
    if x.size != M or not np.all(np.isfinite(x)) or info.primal_solution_status != 2:
        return MasterResult(None, x if x.size == M else np.zeros(M), np.zeros(C), np.inf,
                            -np.inf, status, np.full(C, np.inf))
    prices = np.zeros(C)
    if not integer and budget is None and len(sol.row_dual) == n_parts + R:
        prices[ci] = np.maximum(np.asarray(sol.row_dual)[n_parts:], 0.0)
    choice = None
    if integer:
        choice = np.full(n_parts, -1, dtype=np.int64)
        on = np.nonzero(x > 0.5)[0]
        choice[part[on]] = on
    obj = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if integer else obj
    shortfall = np.zeros(C)
    if n_slack:
        shortfall[ci] = slack
        obj -= float(penalty[ci] @ slack)
    return MasterResult(choice, x, prices, obj, bound, status, shortfall)
