"""One entry point for the stocking solvers: :func:`solve` returns a :class:`StockingPlan`."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from inventory.domain import Scenario
from optimizer.stocking.baselines import item_approach, rule_of_thumb
from optimizer.stocking.evaluate import Evaluation, evaluate_parts
from optimizer.stocking.exact import solve_exact
from optimizer.stocking.lagrange import Progress, budget_sweep, plan_levels
from optimizer.stocking.methods import METHODS
from optimizer.stocking.problem import ReachLike, StockingProblem, build_problem
from optimizer.stocking.result import BaselineResult, FrontierPoint, StockingPlan, classes_met
from optimizer.stocking.targets import target_plan


def solve(problem: StockingProblem, method: str = "greedy", budget: float | None = None, *,
          exact_margin: int = 2, progress: Progress | None = None,
          workers: int = 1) -> StockingPlan:
    """Base-stock levels for ``problem``.

    Parameters
    ----------
    method
        ``greedy`` (Lagrangian decomposition / column generation over per-part marginal
        analysis, :func:`optimizer.stocking.lagrange.plan_levels`; any size) or ``exact``
        (enumeration and a multiple-choice knapsack MIP; small instances: the box is the greedy
        solution plus ``exact_margin`` units per part and location).
    budget
        None: minimise investment subject to every class target. A number (currency): maximise
        the overall demand-weighted on-time share with investment <= budget.
    workers
        Processes that price the parts (:func:`optimizer.stocking.columns.paths`); 1 keeps
        everything in this process. Forked workers: use more than 1 only from a single-threaded
        caller (the CLI), not inside a server.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if budget is not None and not budget >= 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    t0 = time.perf_counter()
    tp = target_plan(problem)
    targets, notes = tp.aimed_at, list(tp.notes)
    bound = gap = None
    res = plan_levels(problem, targets if budget is None else None, budget=budget,
                      progress=progress, workers=workers)
    S, ev = res.levels, res.evaluation
    notes.extend(res.notes)
    if budget is None and res.lp_bound is not None:
        notes.append(f"column pool LP bound {res.lp_bound:,.2f} ({res.columns} columns; a bound "
                     "over the generated columns, not over every plan)")
    if method == "exact":
        res = solve_exact(problem, S + exact_margin, targets=None if budget is not None else targets,
                          budget=budget)
        S, bound, gap = res.levels, res.bound, res.gap
        ev = evaluate_parts(problem, S)
        notes.append(f"exact over the box 0..greedy+{exact_margin} ({res.n_vectors} stock vectors)")
    return make_plan(problem, S, ev, method, time.perf_counter() - t0, targets=targets, notes=notes,
                     bound=bound, gap=gap, budget=budget, ceiling=tp.ceiling)


def make_plan(problem: StockingProblem, S: np.ndarray, ev: Evaluation, method: str, runtime_s: float,
              *, targets: np.ndarray, notes: list[str], bound: float | None = None,
              gap: float | None = None, budget: float | None = None,
              frontier: tuple[FrontierPoint, ...] = (), baselines: tuple[BaselineResult, ...] = (),
              ceiling: np.ndarray | None = None) -> StockingPlan:
    """Wrap levels and their evaluation into a :class:`StockingPlan`; ``feasible`` means every
    constrained class meets its contract target (budget mode: always True)."""
    return StockingPlan(
        levels=S, part_ids=problem.part_ids, location_ids=problem.location_ids,
        unit_cost=problem.unit_cost, class_tier=problem.class_tier,
        class_severity=problem.class_severity, class_target=problem.class_target,
        class_on_time=ev.class_on_time, overall_on_time=ev.overall_on_time,
        investment=float(problem.unit_cost @ S.sum(axis=1)), method=method, runtime_s=runtime_s,
        scenario=problem.name, currency=problem.currency, bound=bound, gap=gap, budget=budget,
        feasible=bool(classes_met(problem.class_target, ev.class_on_time).all())
        if budget is None else True,
        effective_target=targets, class_ceiling=ceiling, notes=tuple(notes), frontier=frontier,
        baselines=baselines)


FRONTIER_POINTS = 12
"""Budgets of a frontier sweep, evenly spaced from 0 to ``extend`` x the plan's investment."""


def frontier(problem: StockingProblem, plan: StockingPlan, *, extend: float = 1.25,
             points: int = FRONTIER_POINTS, progress: Progress | None = None,
             workers: int = 1) -> tuple[FrontierPoint, ...]:
    """Cost/service curve: the best overall on-time share under ``points`` + 1 budgets from 0 to
    ``extend`` x the plan's investment (:func:`optimizer.stocking.lagrange.budget_sweep`, one
    column pool that includes the plan's vectors; label ``budget``), keeping the efficient
    points (each dearer point serves more), plus the plan itself (label ``targets``)."""
    top = max(plan.investment * extend, 1e-9)
    pts = budget_sweep(problem, np.linspace(0.0, top, points + 1), extra_levels=(plan.levels,),
                       progress=progress, workers=workers)
    total = float(problem.class_demand_per_year.sum())
    curve: list[FrontierPoint] = []
    for p in sorted(pts, key=lambda q: (q.investment, -q.on_time_demand)):
        share = p.on_time_demand / total if total > 0 else float("nan")
        if not curve or share > curve[-1].on_time + 1e-12:
            curve.append(FrontierPoint(p.investment, share, p.units, "budget"))
    return (*curve, FrontierPoint(plan.investment, plan.overall_on_time, plan.units, "targets"))


def baselines(problem: StockingProblem, plan: StockingPlan) -> tuple[BaselineResult, ...]:
    """Item approach and rule of thumb at the plan's (effective) targets."""
    targets = plan.effective_target if plan.effective_target is not None else problem.class_target
    return item_approach(problem, targets), rule_of_thumb(problem, targets)


def plan_scenario(scenario: Scenario, method: str = "greedy", budget: float | None = None, *,
                  with_frontier: bool = False, with_baselines: bool = True,
                  reach: ReachLike | None = None, progress: Progress | None = None,
                  workers: int = 1) -> StockingPlan:
    """Scenario in, plan out: reach (built if not given), problem, solve, optional frontier/baselines
    (``workers``: pricing processes, see :func:`solve`)."""
    if reach is None:
        from optimizer.reach import build_reach
        from optimizer.travel import TravelNetwork

        reach = build_reach(scenario, TravelNetwork(scenario))
    problem = build_problem(scenario, reach)
    # progress shares: solve, then the baselines and the frontier if asked
    parts = [("solve", 3.0), ("baselines", 1.0 if with_baselines and budget is None else 0.0),
             ("frontier", 3.0 if with_frontier else 0.0)]
    total = sum(w for _, w in parts)
    spans, at = {}, 0.0
    for name, w in parts:
        spans[name] = (at / total, w / total)
        at += w

    def stage(name: str) -> Progress | None:
        if progress is None:
            return None
        start, width = spans[name]
        return lambda f: progress(start + width * min(max(f, 0.0), 1.0))

    plan = solve(problem, method, budget, progress=stage("solve"), workers=workers)
    extra: dict = {}
    if with_baselines and budget is None:
        extra["baselines"] = baselines(problem, plan)
    if with_frontier:
        extra["frontier"] = frontier(problem, plan, progress=stage("frontier"), workers=workers)
    if progress is not None:
        progress(1.0)
    return replace(plan, **extra) if extra else plan
