"""The cost/service frontier per class: along the budget sweep of
:func:`optimizer.stocking.analysis.frontier`, the on-time share of every (tier, severity) class.

The overall curve is the stocking frontier's (same sweep, same efficient points, the plan itself
last with label ``targets``); each kept point's stock levels are then evaluated by the stocking
model, so a planner sees which classes a smaller budget gives up first (the overall share hides
a small severity-1 class behind the large ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inventory.domain import Scenario
from optimizer.stocking.cluster import Cluster
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import ReachLike, StockingProblem, build_problem
from optimizer.stocking.result import FRONTIER_POINTS, FrontierPoint, StockingPlan
from optimizer.supersession import planning_scenario

Progress = Callable[[float], None]


@dataclass(frozen=True, eq=False)
class ClassFrontier:
    """``points``: the frontier (investment in the scenario's currency, overall demand-weighted
    on-time share, units, label); ``class_on_time``: (len(points), C) the on-time share of each
    class at each point (NaN for a class without in-service demand); ``class_tier``,
    ``class_severity``, ``class_target``: (C,) the classes (target NaN: none)."""

    points: tuple[FrontierPoint, ...]
    class_on_time: np.ndarray
    class_tier: np.ndarray
    class_severity: np.ndarray
    class_target: np.ndarray

    def rows(self) -> list[dict]:
        """One row per point and class: ``point`` (index), investment, units, label, tier,
        severity, target, on_time (None for NaN)."""
        out = []
        for i, p in enumerate(self.points):
            for c in range(len(self.class_tier)):
                v, t = float(self.class_on_time[i, c]), float(self.class_target[c])
                out.append({"point": i, "investment": p.investment, "units": p.units,
                            "label": p.label, "tier": str(self.class_tier[c]),
                            "severity": int(self.class_severity[c]),
                            "target": None if t != t else t, "on_time": None if v != v else v})
        return out


def class_frontier(problem: StockingProblem, plan: StockingPlan, *, extend: float = 1.25,
                   points: int = FRONTIER_POINTS, progress: Progress | None = None,
                   cluster: Cluster | None = None) -> ClassFrontier:
    """The frontier of ``plan`` (budgets evenly spaced from 0 to ``extend`` x its investment,
    efficient points only, plus the plan) with every class's on-time share at each point."""
    from optimizer.stocking.lagrange import budget_sweep  # HiGHS: loaded when a sweep runs

    say = progress or (lambda f: None)
    top = max(plan.investment * extend, 1e-9)
    sweep = budget_sweep(problem, np.linspace(0.0, top, points + 1), extra_levels=(plan.levels,),
                         progress=lambda f: say(0.8 * f), cluster=cluster)
    total = float(problem.class_demand_per_year.sum())
    kept: list[tuple[FrontierPoint, np.ndarray]] = []
    for p in sorted(sweep, key=lambda q: (q.investment, -q.on_time_demand)):
        share = p.on_time_demand / total if total > 0 else float("nan")
        if not kept or share > kept[-1][0].on_time + 1e-12:
            kept.append((FrontierPoint(p.investment, share, p.units, "budget"), p.levels))
    kept.append((FrontierPoint(plan.investment, plan.overall_on_time, plan.units, "targets"),
                 plan.levels))
    shares = np.empty((len(kept), problem.n_classes))
    for i, (_, levels) in enumerate(kept):
        shares[i] = evaluate(problem, np.asarray(levels, dtype=np.int64)).class_on_time
        say(0.8 + 0.2 * (i + 1) / len(kept))
    return ClassFrontier(tuple(p for p, _ in kept), shares, problem.class_tier,
                         problem.class_severity, problem.class_target)


def scenario_class_frontier(scenario: Scenario, reach: ReachLike, plan: StockingPlan, *,
                            progress: Progress | None = None,
                            cluster: Cluster | None = None) -> ClassFrontier:
    """:func:`class_frontier` of a plan made by :func:`optimizer.stocking.analysis.plan_scenario`
    on ``scenario`` and ``reach``: on the same problem (superseded and interchangeable parts
    planned on the part that carries them)."""
    problem = build_problem(planning_scenario(scenario)[0], reach)
    return class_frontier(problem, plan, progress=progress, cluster=cluster)
