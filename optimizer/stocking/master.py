"""Master problem over a column pool: one candidate vector per part (multiple-choice knapsack).

    min  sum_m cost_m x_m
    s.t. sum_{m of part p} x_m = 1                 for every part p
         sum_m ontime_mc x_m >= target_c D_c        for every constrained class c
         sum_m S_mj x_m <= cap_j (units; value)     for every capped location j
         x_m in {0, 1}  (LP relaxation: 0 <= x_m <= 1)

or, under a budget, max sum_m ontime_m . 1 x_m with sum_m cost_m x_m <= budget. The LP gives
the class prices (duals, currency per on-time demand per year) and the capacity prices (currency
per unit or per currency held at a full location) for the pricing step; the MIP
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
from scipy import sparse

from optimizer.stocking.columns import ColumnPool
from optimizer.stocking.problem import StockingProblem

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


def run_sparse(cost: np.ndarray, col_lo: np.ndarray, col_hi: np.ndarray, A: sparse.spmatrix,
               row_lo: np.ndarray, row_hi: np.ndarray, *, minimize: bool = True,
               integer_cols: np.ndarray | None = None, time_limit_s: float = 60.0,
               mip_gap: float = 1e-4, start: np.ndarray | None = None,
               feasibility_tol: float | None = None, presolve: bool = True) -> highspy.Highs:
    """Pass one sparse model to a quiet, single-threaded HiGHS and run it; returns the solver
    (read its status, info and solution). ``integer_cols``: column indices that are integer;
    ``start``: a full column vector offered as the MIP's first incumbent (used if feasible);
    ``feasibility_tol``: HiGHS's primal and MIP feasibility tolerances (default: its own);
    ``presolve`` False switches HiGHS's presolve off."""
    A = sparse.csc_matrix(A)
    A.sum_duplicates()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.sense_ = highspy.ObjSense.kMinimize if minimize else highspy.ObjSense.kMaximize
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_, lp.col_upper_ = col_lo, col_hi
    lp.row_lower_, lp.row_upper_ = row_lo, row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if integer_cols is not None and len(integer_cols):
        is_int = np.zeros(A.shape[1], dtype=bool)
        is_int[np.asarray(integer_cols, dtype=np.int64)] = True
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in is_int]
    h = quiet_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", 1)
    if not presolve:
        h.setOptionValue("presolve", "off")
    if feasibility_tol is not None:
        h.setOptionValue("primal_feasibility_tolerance", float(feasibility_tol))
        h.setOptionValue("mip_feasibility_tolerance", float(feasibility_tol))
    h.passModel(lp)
    if start is not None and integer_cols is not None:
        h.setSolution(len(start), np.arange(len(start), dtype=np.int32),
                      np.asarray(start, dtype=float))
    h.run()
    return h


OBJECTIVE_TOL = 1e-7
"""Largest relative difference between a MIP's reported objective and its answer's cost."""
RECHECK_TIME = 3
"""A MIP solved again without presolve gets this many times its time limit (it is slower)."""


def run_checked(cost: np.ndarray, *args: object, **kw: object) -> tuple[highspy.Highs, bool]:
    """:func:`run_sparse`, then, for a MIP whose answer costs other than the objective HiGHS
    reports, once more without presolve and with :data:`RECHECK_TIME` times the time limit
    (seen with HiGHS 1.16 on design masters with a start: the start came back as the answer,
    reported at a lower objective). Returns the solver and whether presolve was switched off."""
    h = run_sparse(cost, *args, **kw)
    if kw.get("integer_cols") is None or h.getInfo().primal_solution_status != 2:
        return h, False
    xs = np.asarray(h.getSolution().col_value)
    reported = float(h.getInfo().objective_function_value)
    if xs.size != cost.size or abs(float(cost @ xs) - reported) <= OBJECTIVE_TOL * max(
            1.0, abs(reported)):
        return h, False
    kw["time_limit_s"] = RECHECK_TIME * float(kw.get("time_limit_s", 60.0))
    return run_sparse(cost, *args, **kw, presolve=False), True


@dataclass(frozen=True)
class CapacityRows:
    """The location-capacity rows of a master over a column pool: row ``k`` caps location
    ``location[k]``'s units (``per_value`` False) or value (True) at ``upper[k]``; ``A`` (R, M)
    holds each column's use."""

    location: np.ndarray
    per_value: np.ndarray
    upper: np.ndarray
    A: sparse.csr_matrix

    def prices(self, duals: np.ndarray, n_locations: int) -> tuple[np.ndarray, np.ndarray]:
        """``(per_unit, per_value)`` (L,) from the rows' duals in a minimisation (a binding
        ``<=`` row has a dual <= 0): currency per unit held, and per currency of stock held."""
        price = np.maximum(-np.asarray(duals, dtype=float), 0.0)
        per_unit = np.zeros(n_locations)
        per_value = np.zeros(n_locations)
        np.add.at(per_unit, self.location[~self.per_value], price[~self.per_value])
        np.add.at(per_value, self.location[self.per_value], price[self.per_value])
        return per_unit, per_value


def capacity_rows(problem: StockingProblem, part: np.ndarray, levels: np.ndarray,
                  locations: np.ndarray | None = None) -> CapacityRows:
    """The unit and value cap rows of ``problem``'s capped locations (or of ``locations``) over
    columns ``levels`` (M, L) of parts ``part`` (M,)."""
    units, value = problem.capacity_use(part, levels)
    loc, per_value, upper, rows = [], [], [], []
    js = np.nonzero(problem.capped)[0] if locations is None else np.asarray(locations)
    for j in js:
        for use, cap, is_value in ((units, problem.cap_units, False),
                                   (value, problem.cap_value, True)):
            if np.isfinite(cap[j]):
                loc.append(int(j))
                per_value.append(is_value)
                upper.append(float(cap[j]))
                rows.append(sparse.csr_matrix(use[:, j]))
    A = sparse.vstack(rows).tocsr() if rows else sparse.csr_matrix((0, len(part)))
    return CapacityRows(np.array(loc, dtype=np.int64), np.array(per_value, dtype=bool),
                        np.array(upper), A)


@dataclass(frozen=True)
class MasterResult:
    """``choice`` (P,) column index per part (MIP), ``x`` (M,) solution values, ``prices`` (C,)
    class duals (LP; 0 for the MIP), ``objective``, ``bound`` (proven lower bound on the
    MIP objective, targets mode), ``status`` text, ``shortfall`` (C,) on-time demand short
    per class (slack, with ``penalty``); ``unit_price`` / ``value_price`` (L,): the capacity
    rows' prices (LP, targets mode), currency per unit held and per currency of stock held."""

    choice: np.ndarray | None
    x: np.ndarray
    prices: np.ndarray
    objective: float
    bound: float
    status: str
    shortfall: np.ndarray
    unit_price: np.ndarray | None = None
    value_price: np.ndarray | None = None

    def surcharge(self, unit_cost: np.ndarray) -> np.ndarray | None:
        """(P, L) capacity price of one more unit of each part at each location (currency), or
        None when no cap binds."""
        if self.unit_price is None or not (np.any(self.unit_price > 0)
                                           or np.any(self.value_price > 0)):
            return None
        return self.unit_price[None, :] + unit_cost[:, None] * self.value_price[None, :]


def solve_master(pool: ColumnPool, problem: StockingProblem, targets: np.ndarray | None, *,
                 budget: float | None = None, integer: bool = True, time_limit_s: float = 20.0,
                 mip_gap: float = 1e-6, penalty: np.ndarray | None = None,
                 start: np.ndarray | None = None) -> MasterResult:
    """Solve the master over ``pool``; ``targets`` (C,) NaN = unconstrained, or ``budget``.

    Every capped location of ``problem`` adds a row: the units (value) its columns hold stay
    within the cap. ``penalty`` (C,) adds a slack per class row at that cost per unit of
    on-time demand short (big-M phase 1 of column generation: the LP is always feasible, since
    holding nothing fits every cap, and a short class's dual equals its penalty, which steers
    the next pricing towards it); ``shortfall`` reports it. ``start`` (P,): a column per part
    offered to the MIP as its first incumbent.
    """
    n_parts, demand = problem.n_parts, problem.class_demand_per_year
    part, levels, cost, ontime = pool.arrays()
    M, C = ontime.shape
    cons = np.zeros(C, dtype=bool) if targets is None else (~np.isnan(targets) & (demand > 0))
    ci = np.nonzero(cons)[0]
    inf = highspy.kHighsInf
    blocks = [sparse.csr_matrix((np.ones(M), (part, np.arange(M))), shape=(n_parts, M))]
    lo, hi = [np.ones(n_parts)], [np.ones(n_parts)]
    if budget is None:
        blocks.append(sparse.csr_matrix(ontime[:, ci].T))
        lo.append((targets[ci] + TARGET_MARGIN) * demand[ci] + ROW_SLACK)
        hi.append(np.full(len(ci), inf))
        obj = cost.astype(float)
    else:
        blocks.append(sparse.csr_matrix(cost[None, :].astype(float)))
        lo.append(np.array([-inf]))
        hi.append(np.array([float(budget)]))
        obj = ontime.sum(axis=1).astype(float)
    caps = capacity_rows(problem, part, levels)
    blocks.append(caps.A)
    lo.append(np.full(len(caps.upper), -inf))
    hi.append(caps.upper)
    A = sparse.vstack(blocks).tocsc()
    n_slack = len(ci) if (penalty is not None and budget is None) else 0
    if n_slack:
        slack = sparse.csr_matrix((np.ones(n_slack), (n_parts + np.arange(n_slack),
                                                      np.arange(n_slack))),
                                  shape=(A.shape[0], n_slack))
        A = sparse.hstack([A, slack]).tocsc()
        obj = np.concatenate([obj, penalty[ci].astype(float)])
    col_hi = np.concatenate([np.ones(M), np.full(n_slack, inf)])
    x0 = None
    if start is not None and integer and np.all(start >= 0):
        x0 = np.zeros(M + n_slack)
        x0[start] = 1.0
    h, _ = run_checked(obj, np.zeros(M + n_slack), col_hi, A, np.concatenate(lo),
                       np.concatenate(hi), minimize=budget is None,
                       integer_cols=np.arange(M) if integer else None,
                       time_limit_s=time_limit_s, mip_gap=mip_gap, start=x0)
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    sol = h.getSolution()
    xs = np.asarray(sol.col_value)
    x, slack_val = xs[:M], xs[M:]
    if x.size != M or not np.all(np.isfinite(x)) or info.primal_solution_status != 2:
        return MasterResult(None, x if x.size == M else np.zeros(M), np.zeros(C), np.inf,
                            -np.inf, status, np.full(C, np.inf))
    prices = np.zeros(C)
    unit_price = value_price = None
    duals = np.asarray(sol.row_dual)
    if not integer and budget is None and len(duals) == A.shape[0]:
        prices[ci] = np.maximum(duals[n_parts:n_parts + len(ci)], 0.0)
        unit_price, value_price = caps.prices(duals[n_parts + len(ci):], problem.n_locations)
    choice = None
    if integer:
        choice = np.full(n_parts, -1, dtype=np.int64)
        on = np.nonzero(x > 0.5)[0]
        choice[part[on]] = on
    obj_val = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if integer else obj_val
    shortfall = np.zeros(C)
    if n_slack:
        shortfall[ci] = slack_val
        obj_val -= float(penalty[ci] @ slack_val)
    return MasterResult(choice, x, prices, obj_val, bound, status, shortfall, unit_price,
                        value_price)
