"""Exact solver for small instances: enumerate S-vectors per part, then a multiple-choice knapsack.

Parts are independent given their own levels, and a class's on-time share is a sum over parts
(divided by the class demand), so choosing one S-vector per part is a multiple-choice knapsack:

    min  sum_{p,v} cost_pv x_pv
    s.t. sum_v x_pv = 1                                   for every part p
         sum_{p,v} ontime_pvc x_pv >= target_c D_c        for every constrained class c
         sum_{p,v} S_pvj x_pv <= cap_j (units; value)      for every capped location j
         x binary

(budget mode: maximise the overall on-time demand subject to investment <= budget). Each
vector's contributions come from the same evaluation model, so the optimum is exact for that
model within the enumerated box ``0 <= S[p, j] <= upper[p, j]``; it is solved with HiGHS via
PuLP and its proven bound and gap are reported.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pulp

from optimizer.stocking.evaluate import evaluate_parts, replicate
from optimizer.stocking.master import ROW_SLACK, TARGET_MARGIN, quiet_highs
from optimizer.stocking.problem import StockingProblem

MAX_VECTORS = 200_000
"""Refuse to enumerate more S-vectors than this in total (the exact method is for small instances)."""


@dataclass(frozen=True)
class ExactResult:
    levels: np.ndarray
    investment: float
    bound: float
    gap: float
    status: str
    n_vectors: int


def box_vectors(upper: np.ndarray, instead: str = "the greedy method or a smaller box"
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, vectors)``: every integer vector ``0 <= v <= upper[p]`` of every part ``p``
    (parts in order), and the part of each. ValueError naming ``instead`` (what to use) when
    there would be more than :data:`MAX_VECTORS` of them."""
    upper = np.asarray(upper, dtype=np.int64)
    counts = np.prod(upper + 1, axis=1) if upper.size else np.zeros(len(upper), dtype=np.int64)
    total = int(counts.sum())
    if total > MAX_VECTORS:
        raise ValueError(f"the exact method would enumerate {total:,} stock vectors (limit "
                         f"{MAX_VECTORS:,}); it is for small instances: use {instead}")
    width = upper.shape[1] if upper.ndim == 2 else 0
    vecs = [np.array(list(itertools.product(*[range(int(u) + 1) for u in row])), dtype=np.int64)
            for row in upper]
    owner = np.repeat(np.arange(len(upper)), counts)
    return owner, np.concatenate(vecs) if vecs else np.zeros((0, width), dtype=np.int64)


def vector_contributions(problem: StockingProblem, upper: np.ndarray
                         ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per part: all S-vectors in the box (V_p, L) and their on-time demand per class (V_p, C)."""
    owner, flat = box_vectors(upper)
    rep = replicate(problem, owner)
    ev = evaluate_parts(rep, flat)
    w = np.where(rep.stream_in_service, rep.stream_rate_per_year * ev.stream_on_time, 0.0)
    C = problem.n_classes
    contrib = np.bincount(rep.stream_part * C + rep.stream_class, weights=w,
                          minlength=len(owner) * C).reshape(len(owner), C)
    splits = np.cumsum(np.bincount(owner, minlength=problem.n_parts))[:-1]
    return np.split(flat, splits), np.split(contrib, splits)


def need(target: float, demand: float) -> float:
    """On-time demand per year a class row asks for: the target plus the masters' margins, so a
    plan HiGHS accepts within its row tolerance still meets the target when evaluated."""
    return float((target + TARGET_MARGIN) * demand + ROW_SLACK)


def solve_exact(problem: StockingProblem, upper: np.ndarray, targets: np.ndarray | None = None,
                budget: float | None = None, time_limit_s: float = 120.0) -> ExactResult:
    """Optimal levels within the box ``upper`` (P, L) for ``targets`` (C,) or under ``budget``."""
    vectors, contrib = vector_contributions(problem, upper)
    D = problem.class_demand_per_year
    sense = pulp.LpMinimize if budget is None else pulp.LpMaximize
    m = pulp.LpProblem("stocking", sense)
    x = [[m.add_variable(f"x_{p}_{v}", cat="Binary") for v in range(len(vectors[p]))]
         for p in range(problem.n_parts)]
    costs = [vectors[p].sum(axis=1) * problem.unit_cost[p] for p in range(problem.n_parts)]
    invest = pulp.lpSum(float(costs[p][v]) * x[p][v] for p in range(problem.n_parts)
                        for v in range(len(x[p])))
    for p in range(problem.n_parts):
        m += pulp.lpSum(x[p]) == 1
    if budget is None:
        m += invest
        for c in range(problem.n_classes):
            if targets is None or np.isnan(targets[c]) or D[c] <= 0:
                continue
            m += pulp.lpSum(float(contrib[p][v, c]) * x[p][v] for p in range(problem.n_parts)
                            for v in range(len(x[p]))) >= need(targets[c], D[c])
    else:
        m += pulp.lpSum(float(contrib[p][v].sum()) * x[p][v] for p in range(problem.n_parts)
                        for v in range(len(x[p])))
        m += invest <= budget
    for j in np.nonzero(problem.capped)[0]:
        for cap, per in ((problem.cap_units[j], np.ones(problem.n_parts)),
                         (problem.cap_value[j], problem.unit_cost)):
            if np.isfinite(cap):
                m += pulp.lpSum(float(per[p] * vectors[p][v, j]) * x[p][v]
                                for p in range(problem.n_parts) for v in range(len(x[p]))
                                if vectors[p][v, j]) <= float(cap)
    quiet_highs()  # the process's first HiGHS prints a banner from its constructor
    solver = pulp.HiGHS(msg=False, timeLimit=time_limit_s, gapRel=1e-9)
    m.solve(solver)
    status = pulp.LpStatus[m.status]
    if status != "Optimal":
        raise ValueError(f"exact stocking model is {status.lower()} within the enumerated box")
    S = np.zeros((problem.n_parts, problem.n_locations), dtype=np.int64)
    for p in range(problem.n_parts):
        v = int(np.argmax([xv.value() for xv in x[p]]))
        S[p] = vectors[p][v]
    value = float(problem.unit_cost @ S.sum(axis=1))
    bound = value
    try:
        bound = float(solver.solverModel.getInfo().mip_dual_bound) if budget is None else value
    except Exception:  # noqa: BLE001 - the bound is optional information
        bound = value
    gap = (value - bound) / value if value > 0 and budget is None else 0.0
    return ExactResult(S, value, bound, max(gap, 0.0), status, sum(len(v) for v in vectors))
