"""What a planner reads next to a solved plan: notes, the cost/service frontier, the baselines,
and the :class:`~optimizer.stocking.result.StockingPlan` record the files and the workspace show.

:func:`plan_scenario` is the whole path from a scenario: reach, problem,
:func:`optimizer.stocking.solve`, then these extras.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from inventory.domain import Scenario
from optimizer.stocking.api import Objective, Progress, Result, solve
from optimizer.stocking.baselines import item_approach, rule_of_thumb
from optimizer.stocking.bounds import LevelBounds
from optimizer.stocking.cluster import Cluster
from optimizer.stocking.lagrange import budget_sweep
from optimizer.stocking.methods import Method
from optimizer.stocking.params import SolveParams
from optimizer.stocking.problem import ReachLike, StockingProblem, build_problem
from optimizer.stocking.result import (
    FRONTIER_POINTS,
    BaselineResult,
    FrontierPoint,
    Labelled,
    StockingPlan,
    levels_in_order,
)
from optimizer.stocking.stop import StoppingCriterion
from optimizer.stocking.targets import target_plan
from optimizer.supersession import describe, planning_scenario


def notes(problem: StockingProblem, result: Result) -> list[str]:
    """Human-readable remarks: unconstrained and unreachable classes (targets mode), the
    solver's own messages, and what the bound is a bound over."""
    out = list(target_plan(problem).notes) if result.objective.mode == "targets" else []
    out.extend(result.stats.messages)
    if result.bound_scope == "column pool" and result.bound is not None:
        out.append(f"column pool LP bound {result.bound:,.2f} ({result.stats.columns} columns; "
                   "a bound over the generated columns, not over every plan)")
    if result.stats.out_of_time:
        out.append("stopped by the runtime limit (MaxRuntime): more time may find a cheaper plan")
    return out


def make_plan(problem: StockingProblem, result: Result, *,
              frontier: tuple[FrontierPoint, ...] = (),
              baselines: tuple[BaselineResult, ...] = ()) -> StockingPlan:
    """The :class:`StockingPlan` record of ``result``: its levels, service and notes; ``bound``
    and ``gap`` only when proven over every plan in a box (the exact method)."""
    ev = result.evaluation
    proven = result.bound_scope == "enumerated box"
    return StockingPlan(
        levels=result.levels, part_ids=problem.part_ids, location_ids=problem.location_ids,
        unit_cost=problem.unit_cost, class_tier=problem.class_tier,
        class_severity=problem.class_severity, class_target=problem.class_target,
        class_on_time=ev.class_on_time, overall_on_time=ev.overall_on_time,
        investment=result.investment, method=result.stats.method,
        runtime_s=result.stats.runtime_s, scenario=problem.name, currency=problem.currency,
        bound=result.bound if proven else None, gap=result.gap if proven else None,
        budget=result.objective.budget, feasible=result.feasible,
        effective_target=None if result.objective.mode == "budget" else result.aimed_at,
        class_ceiling=result.ceiling, notes=tuple(notes(problem, result)),
        timings=dict(result.stats.timings), frontier=frontier, baselines=baselines)


def plan_problem(problem: StockingProblem, objective: Objective | None = None,
                 **solve_kw: object) -> StockingPlan:
    """:func:`solve` then :func:`make_plan`: the plan record of ``problem`` (keywords as
    :func:`solve`); what re-planning callers (the quarterly run) need."""
    return make_plan(problem, solve(problem, objective, **solve_kw))


def frontier(problem: StockingProblem, plan: Result | StockingPlan, *, extend: float = 1.25,
             points: int = FRONTIER_POINTS, progress: Progress | None = None,
             cluster: Cluster | None = None) -> tuple[FrontierPoint, ...]:
    """Cost/service curve: the best overall on-time share under ``points`` + 1 budgets from 0 to
    ``extend`` x the plan's investment (:func:`optimizer.stocking.lagrange.budget_sweep`, one
    column pool that includes the plan's vectors; label ``budget``), keeping the efficient
    points (each dearer point serves more), plus the plan itself (label ``targets``)."""
    top = max(plan.investment * extend, 1e-9)
    pts = budget_sweep(problem, np.linspace(0.0, top, points + 1), extra_levels=(plan.levels,),
                       progress=progress, cluster=cluster)
    total = float(problem.class_demand_per_year.sum())
    curve: list[FrontierPoint] = []
    for p in sorted(pts, key=lambda q: (q.investment, -q.on_time_demand)):
        share = p.on_time_demand / total if total > 0 else float("nan")
        if not curve or share > curve[-1].on_time + 1e-12:
            curve.append(FrontierPoint(p.investment, share, p.units, "budget"))
    return (*curve, FrontierPoint(plan.investment, plan.overall_on_time, plan.units, "targets"))


def baselines(problem: StockingProblem, targets: np.ndarray) -> tuple[BaselineResult, ...]:
    """Item approach and rule of thumb at ``targets`` (C,) (a result's ``aimed_at``)."""
    return item_approach(problem, targets), rule_of_thumb(problem, targets)


def plan_scenario(scenario: Scenario, objective: Objective | None = None, *,
                  method: Method | None = None, stop: StoppingCriterion | None = None,
                  params: SolveParams | None = None, cluster: Cluster | None = None,
                  with_frontier: bool = False, with_baselines: bool = True,
                  reach: ReachLike | None = None,
                  progress: Progress | None = None,
                  stock_limits: Mapping[tuple[str, str], tuple[int | None, int | None]] | None = None,
                  initial: Labelled | None = None) -> StockingPlan:
    """Scenario in, plan out: reach (built if not given), problem, :func:`solve`, then the
    baselines (targets mode) and the frontier if asked. ``stock_limits``: planner minimum /
    maximum per (part id, location id), kept by the plan
    (:meth:`optimizer.stocking.bounds.LevelBounds.from_limits`). ``initial``: a plan known
    beforehand (a :class:`~optimizer.stocking.result.LevelTable` or a plan; parts and locations
    this scenario lacks are dropped, the ones it lacks start at 0) that the solve starts from."""
    if reach is None:
        from optimizer.reach import build_reach
        from optimizer.travel import TravelNetwork

        reach = build_reach(scenario, TravelNetwork(scenario), cluster=cluster)
    # superseded and interchangeable parts planned on the part that carries them, as dispatch
    # ships them (optimizer.supersession)
    pooled, succession = planning_scenario(scenario)
    problem = build_problem(pooled, reach)
    objective = objective or Objective()
    targets_mode = objective.mode == "targets"
    # progress shares: solve, then the baselines and the frontier if asked
    parts = [("solve", 3.0), ("baselines", 1.0 if with_baselines and targets_mode else 0.0),
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

    bounds = (LevelBounds.from_limits(problem.part_ids, problem.location_ids, stock_limits)
              if stock_limits else None)
    start = (None if initial is None
             else levels_in_order(initial, problem.part_ids, problem.location_ids))
    result = solve(problem, objective, stop=stop, params=params, cluster=cluster, method=method,
                   progress=stage("solve"), bounds=bounds, initial=start)
    plan = make_plan(problem, result)
    extra: dict = {"notes": (*plan.notes, *describe(succession))} if succession.kind else {}
    if with_baselines and targets_mode:
        extra["baselines"] = baselines(problem, result.aimed_at)
    if with_frontier:
        extra["frontier"] = frontier(problem, result, progress=stage("frontier"), cluster=cluster)
    if progress is not None:
        progress(1.0)
    return replace(plan, **extra) if extra else plan
