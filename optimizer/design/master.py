"""Master problem of the integrated design: one stock vector per part and which locations are open.

    min  h sum_m cost_m x_m + sum_j f_j y_j
    s.t. sum_{m of part p} x_m = 1                                  every part p
         sum_m ontime_mc x_m >= target_c D_c                        every constrained class c
         sum_{m of p, S_mj > 0} x_m <= y_j                          every part p, switchable j
         sum_m S_mj x_m <= cap_j y_j  (units; likewise value)       capped locations j
         sum_{j candidate} y_j <= max_new                           (optional)
         y_j = 1 forced open, y_j = 0 forced closed;  x, y binary (LP: in [0, 1])

``h`` is the carrying rate, ``cost_m`` a column's investment, ``f_j`` a location's yearly fixed
cost. Under a yearly ``budget`` the objective becomes the on-time demand (maximised) and the cost
a row ``<= budget``. Built as one sparse HiGHS model (no modelling layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from optimizer.design.problem import DesignProblem
from optimizer.stocking.columns import ColumnPool
from optimizer.stocking.master import ROW_SLACK, TARGET_MARGIN, capacity_rows, run_checked

CERTIFY_TOL = 1e-9
"""HiGHS's feasibility tolerance in a ``relaxed`` (bounding) master (requests per year)."""


@dataclass(frozen=True)
class DesignMasterResult:
    """``choice`` (P,) column per part (MIP, else None), ``open`` (L,) location open values
    (1 for locations the design cannot switch), ``prices`` (C,) class duals (LP), ``objective``
    (yearly cost, or on-time demand under a budget), ``bound`` (the solver's proven bound over
    the pool), ``status``, ``shortfall`` (C,) on-time demand short (with ``penalty``); ``entry``
    (P, L) the LP's price of a part's first unit at a switchable location and ``unit_price`` /
    ``value_price`` (L,) its prices of a full location (per unit, per currency held), all in
    yearly cost; ``presolve_off``: solved again without HiGHS's presolve
    (:func:`optimizer.stocking.master.run_checked`)."""

    choice: np.ndarray | None
    open: np.ndarray
    prices: np.ndarray
    entry: np.ndarray
    objective: float
    bound: float
    status: str
    shortfall: np.ndarray
    unit_price: np.ndarray | None = None
    value_price: np.ndarray | None = None
    presolve_off: bool = False

    def surcharge(self, unit_cost: np.ndarray) -> np.ndarray | None:
        """(P, L) yearly capacity price of one more unit of each part at each location, or None
        when no cap binds."""
        if self.unit_price is None or not (np.any(self.unit_price > 0)
                                           or np.any(self.value_price > 0)):
            return None
        return self.unit_price[None, :] + unit_cost[:, None] * self.value_price[None, :]


@dataclass(frozen=True)
class DesignRules:
    """What the planner fixes: locations forced open / closed (index arrays), a cap on the
    number of candidates opened, a yearly budget for fixed + carrying cost (None: none)."""

    force_open: tuple[int, ...] = ()
    force_closed: tuple[int, ...] = ()
    max_new: int | None = None
    budget: float | None = None


def solve_design_master(pool: ColumnPool, dp: DesignProblem, targets: np.ndarray | None,
                        rules: DesignRules, *, integer: bool = True,
                        penalty: np.ndarray | None = None, time_limit_s: float = 60.0,
                        mip_gap: float = 1e-4, start: np.ndarray | None = None,
                        relaxed: bool = False) -> DesignMasterResult:
    """Solve the master over ``pool`` (see the module docstring). ``start`` (P,): a column per
    part offered to the MIP as its first incumbent (with the locations those columns stock, and
    the forced-open ones, open), so the MIP never ends worse than a known plan. ``relaxed``:
    class rows ask for exactly the targets (no planning margin) and HiGHS's feasibility
    tolerance is :data:`CERTIFY_TOL`, so its dual bound is a lower bound for the targets
    themselves (off by at most that tolerance, in requests per year, and erring low)."""
    pr = dp.stocking
    P, C = pr.n_parts, pr.n_classes
    D = pr.class_demand_per_year
    part, levels, cost, ontime = pool.arrays()
    M = len(part)
    sw = np.nonzero(dp.switchable)[0]
    ny = len(sw)
    ycol = {int(j): M + k for k, j in enumerate(sw)}
    budget = rules.budget
    cons = np.zeros(C, dtype=bool) if (targets is None or budget is not None) else (
        ~np.isnan(targets) & (D > 0))
    ci = np.nonzero(cons)[0]
    n_slack = len(ci) if penalty is not None else 0
    ncol = M + ny + n_slack
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    r = 0

    def block(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray, low: np.ndarray, up: np.ndarray) -> None:
        nonlocal r
        rows.append(rr + r)
        cols.append(cc)
        vals.append(vv)
        lo.append(low)
        hi.append(up)
        r += len(low)

    inf = highspy.kHighsInf
    block(part, np.arange(M), np.ones(M), np.ones(P), np.ones(P))  # one column per part
    if budget is None:
        for k, c in enumerate(ci):  # class rows (+ slack)
            nz = np.nonzero(ontime[:, c])[0]
            rr = np.zeros(len(nz) + (1 if n_slack else 0), dtype=np.int64)
            cc = np.concatenate([nz, [M + ny + k]] if n_slack else [nz])
            vv = np.concatenate([ontime[nz, c], [1.0]] if n_slack else [ontime[nz, c]])
            need = float(targets[c] * D[c] if relaxed
                         else (targets[c] + TARGET_MARGIN) * D[c] + ROW_SLACK)
            block(rr, cc, vv, np.array([need]), np.array([inf]))
    else:
        cc = np.concatenate([np.arange(M), M + np.arange(ny)])
        vv = np.concatenate([dp.carrying_rate * cost, dp.fixed_cost[sw]])
        block(np.zeros(len(cc), dtype=np.int64), cc, vv, np.array([-inf]), np.array([float(budget)]))
    # linking: a part's columns that stock at switchable j need j open
    link_rows, link_pj = r, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if ny:
        m_idx, j_idx = np.nonzero(levels[:, sw] > 0)
        if m_idx.size:
            key = part[m_idx] * ny + j_idx
            uniq, inv = np.unique(key, return_inverse=True)
            n_link = len(uniq)
            y_of = np.array([ycol[int(sw[u % ny])] for u in uniq], dtype=np.int64)
            link_rows, link_pj = r, (uniq // ny, sw[uniq % ny])
            rr = np.concatenate([inv, np.arange(n_link)])
            cc = np.concatenate([m_idx, y_of])
            vv = np.concatenate([np.ones(len(m_idx)), -np.ones(n_link)])
            block(rr, cc, vv, np.full(n_link, -inf), np.zeros(n_link))
    cap_first = r
    caps = capacity_rows(pr, part, levels)
    for k, j in enumerate(caps.location):  # use <= cap, times y_j where the design switches j
        use = caps.A.getrow(k).tocoo()
        if j in ycol:
            block(np.zeros(use.nnz + 1, dtype=np.int64), np.concatenate([use.col, [ycol[int(j)]]]),
                  np.concatenate([use.data, [-caps.upper[k]]]), np.array([-inf]), np.array([0.0]))
        else:
            block(np.zeros(use.nnz, dtype=np.int64), use.col, use.data, np.array([-inf]),
                  np.array([caps.upper[k]]))
    cand = [ycol[int(j)] for j in sw if dp.is_candidate[j]]
    if rules.max_new is not None and cand:
        block(np.zeros(len(cand), dtype=np.int64), np.array(cand), np.ones(len(cand)),
              np.array([-inf]), np.array([float(rules.max_new)]))

    col_lo = np.zeros(ncol)
    col_hi = np.concatenate([np.ones(M + ny), np.full(n_slack, inf)])
    for j in rules.force_open:
        if j in ycol:
            col_lo[ycol[j]] = 1.0
    for j in rules.force_closed:
        if j in ycol:
            col_hi[ycol[j]] = 0.0
    if budget is None:
        obj = np.concatenate([dp.carrying_rate * cost, dp.fixed_cost[sw],
                              penalty[ci] if n_slack else np.zeros(0)])
    else:
        obj = np.concatenate([ontime.sum(axis=1), np.zeros(ny)])
    A = sparse.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(r, ncol))
    integrality = np.arange(M + ny) if integer else None
    x0 = None
    if start is not None and integer and np.all(start >= 0):
        x0 = np.zeros(ncol)
        x0[start] = 1.0
        used = (levels[start][:, sw] > 0).any(axis=0)
        x0[M:M + ny] = np.maximum(used, col_lo[M:M + ny])
    h, presolve_off = run_checked(obj, col_lo, col_hi, A, np.concatenate(lo), np.concatenate(hi),
                                   minimize=budget is None, integer_cols=integrality,
                                   time_limit_s=time_limit_s, mip_gap=mip_gap, start=x0,
                                   feasibility_tol=CERTIFY_TOL if relaxed else None)
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    sol = h.getSolution()
    xs = np.asarray(sol.col_value)
    L = pr.n_locations
    if xs.size != ncol or info.primal_solution_status != 2:
        return DesignMasterResult(None, np.ones(L), np.zeros(C), np.zeros((P, L)), np.inf, -np.inf,
                                  status, np.full(C, np.inf))
    is_open = np.ones(L)
    is_open[sw] = xs[M:M + ny]
    prices = np.zeros(C)
    entry = np.zeros((P, L))
    unit_price = value_price = None
    if not integer and budget is None and ci.size:
        duals = np.asarray(sol.row_dual)
        prices[ci] = np.maximum(duals[P:P + len(ci)], 0.0)
        if link_pj[0].size:
            entry[link_pj] = np.maximum(-duals[link_rows:link_rows + link_pj[0].size], 0.0)
        unit_price, value_price = caps.prices(duals[cap_first:cap_first + len(caps.upper)], L)
    choice = None
    if integer:
        choice = np.full(P, -1, dtype=np.int64)
        on = np.nonzero(xs[:M] > 0.5)[0]
        choice[part[on]] = on
        is_open[sw] = np.round(is_open[sw])
    obj_val = float(info.objective_function_value)
    shortfall = np.zeros(C)
    if n_slack:
        shortfall[ci] = xs[M + ny:]
        obj_val -= float(penalty[ci] @ shortfall[ci])
    bound = float(info.mip_dual_bound) if integer else obj_val
    return DesignMasterResult(choice, is_open, prices, entry, obj_val, bound, status, shortfall,
                              unit_price, value_price, presolve_off)
