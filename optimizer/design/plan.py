"""Scenario in, design out: the integrated design, its baselines, and the plan on the new network.

:func:`plan_design` builds the design problem (reach with every candidate open), plans the
sequential baseline (locate by coverage, then the stocking solver on that network's own reach:
:func:`stock_network`) and solves the integrated design (which locations to open, chosen with a
stock vector per part, and the lower bound) with the baseline's plan in its pool, so the master
can always fall back on it. A design other than the baseline's is planned by the stocking
solver on its own reach too, started from the design's levels, so the stock levels and the
service reported are exactly what the dispatch engine meets on the chosen network; if the
baseline still comes out cheaper once both are stocked, it is kept and a note says so. The
existing network ("before") is planned the same way for comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from inventory.domain import Scenario
from optimizer.design.exact import solve_design_exact
from optimizer.design.holdback import HoldBack, hold_backs
from optimizer.design.problem import DesignProblem, build_design_problem
from optimizer.design.result import DesignResult
from optimizer.design.solve import DesignObjective, coverage_design, design_targets, solve_design
from optimizer.reach import Reach
from optimizer.stocking.analysis import plan_scenario
from optimizer.stocking.api import Objective
from optimizer.stocking.cluster import Cluster
from optimizer.stocking.methods import ColumnGeneration, Exact, Method
from optimizer.stocking.result import LevelTable, StockingPlan, levels_in_order

Progress = Callable[[float], None]
DESIGN_METHODS = ("integrated", "exact")
SEQUENTIAL_CUSHIONS = (0.02, 0.04, 0.06)
"""The sequential baseline opens candidates until each class's covered share is its target plus
the first of these that lets the stocking step meet every target (a planner's margin for
stock-outs: covering exactly the target leaves none)."""


@dataclass(frozen=True, eq=False)
class NetworkPlan:
    """A network (locations ``opened`` / ``closed`` against the scenario) with its stock plan:
    yearly cost = ``fixed_cost`` + carrying rate x ``plan.investment``."""

    name: str
    opened: tuple[str, ...]
    closed: tuple[str, ...]
    fixed_cost: float
    yearly_cost: float
    scenario: Scenario
    plan: StockingPlan

    @property
    def feasible(self) -> bool:
        return self.plan.feasible


@dataclass(frozen=True)
class Overrun:
    """A location whose planned stock exceeds its capacity: ``units`` / ``value`` held against
    ``cap_units`` / ``cap_value`` (None: no such cap)."""

    location_id: str
    units: int
    value: float
    cap_units: int | None
    cap_value: float | None


def capacity_overruns(network: NetworkPlan) -> list[Overrun]:
    """The locations of ``network`` whose planned stock exceeds their unit or value capacity (a
    check: the stocking solver keeps within the caps unless its MIP finds no plan at all)."""
    plan = network.plan
    out = []
    for j, lid in enumerate(plan.location_ids):
        d = network.scenario.depot(str(lid))
        units = int(plan.levels[:, j].sum())
        value = float(plan.unit_cost @ plan.levels[:, j])
        if ((d.capacity_units is not None and units > d.capacity_units)
                or (d.capacity_value is not None and value > d.capacity_value + 1e-6)):
            out.append(Overrun(str(lid), units, value, d.capacity_units, d.capacity_value))
    return out


@dataclass(frozen=True, eq=False)
class DesignPlan:
    """The ``chosen`` network and its plan; ``design``: the integrated solver's result (its MIP
    design, levels and the lower ``bound``); ``sequential`` (locate, then stock) and ``before``
    (the existing network) when computed; ``hold_backs``: sites no allowed location reaches in
    time for classes that stay short; ``problem``, ``reach``: the design problem and the reach
    with every candidate open; ``names``: location names; ``notes``; ``overruns``: the chosen
    plan's locations over their capacity (:func:`capacity_overruns`)."""

    chosen: NetworkPlan
    design: DesignResult
    sequential: NetworkPlan | None
    before: NetworkPlan | None
    hold_backs: tuple[HoldBack, ...]
    problem: DesignProblem
    reach: Reach
    names: dict[str, str]
    runtime_s: float
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    overruns: tuple[Overrun, ...] = ()

    @property
    def plan(self) -> StockingPlan:
        return self.chosen.plan

    @property
    def designed(self) -> Scenario:
        return self.chosen.scenario

    @property
    def opened(self) -> list[str]:
        return list(self.chosen.opened)

    @property
    def closed(self) -> list[str]:
        return list(self.chosen.closed)

    @property
    def yearly_cost(self) -> float:
        return self.chosen.yearly_cost

    @property
    def bound(self) -> float | None:
        return self.design.bound

    @property
    def aims_below_design(self) -> list[str]:
        """:func:`aims_below` of the chosen plan: no gap is reported where it is not empty."""
        return aims_below(self.problem, self.design, self.chosen.plan)

    @property
    def gap(self) -> float | None:
        """(yearly cost - bound) / yearly cost; None without a bound or where the chosen plan
        aims lower than the design (:attr:`aims_below_design`)."""
        b, v = self.design.bound, self.chosen.yearly_cost
        if b is None or v <= 0 or self.aims_below_design:
            return None
        return max(0.0, (v - b) / v)

    @property
    def system_gap(self) -> float | None:
        """(yearly cost - the real network's lower bound) / yearly cost; None if not computed."""
        b, v = self.design.system_bound, self.chosen.yearly_cost
        return None if b is None or v <= 0 else (v - b) / v


def aims_below(dp: DesignProblem, design: DesignResult, plan: StockingPlan) -> list[str]:
    """Classes ``plan`` aims lower at than ``design`` does (a class no stock reaches in full,
    whose ceiling on the chosen network is lower than with every candidate open): the design's
    bound is for the design's aims."""
    pr = dp.stocking
    aims = {(str(t), int(v)): a for t, v, a in zip(pr.class_tier, pr.class_severity,
                                                    design.aimed_at, strict=True)}
    if plan.effective_target is None:
        return []
    out = []
    for t, v, a in zip(plan.class_tier, plan.class_severity, plan.effective_target, strict=True):
        d = aims.get((str(t), int(v)))
        if d is not None and not np.isnan(d) and not np.isnan(a) and a < d - 1e-9:
            out.append(f"{t}/sev{int(v)}")
    return out


def stock_network(scenario: Scenario, dp: DesignProblem, is_open: np.ndarray, name: str, *,
                  budget: float | None = None, cluster: Cluster | None = None,
                  method: Method | None = None, initial: np.ndarray | None = None,
                  progress: Progress | None = None) -> NetworkPlan:
    """``scenario`` with the switchable locations set by ``is_open`` (L,), planned by the stocking
    solver (``method``) on its own reach; ``budget`` is the yearly budget (fixed + carrying) if
    any; ``initial`` (P, L) over the design problem: levels the solve starts from (the design's,
    topped up where the network's own reach finds them a hair short)."""
    ids = [str(x) for x in dp.location_ids]
    opened = tuple(ids[j] for j in np.nonzero(is_open & dp.is_candidate)[0])
    closed = tuple(ids[j] for j in np.nonzero(~is_open & dp.switchable & ~dp.is_candidate)[0])
    designed = scenario.with_design(opened, closed)
    fixed = float(dp.fixed_cost[is_open & dp.switchable].sum())
    stock_budget = None
    if budget is not None:
        stock_budget = max(budget - fixed, 0.0) / max(dp.carrying_rate, 1e-12)
    start = None
    if initial is not None:
        start = LevelTable([str(x) for x in dp.stocking.part_ids], ids, np.asarray(initial))
    plan = plan_scenario(designed, Objective(budget=stock_budget), method=method,
                         with_baselines=False, cluster=cluster, progress=progress, initial=start)
    return NetworkPlan(name, opened, closed, fixed, fixed + dp.carrying_rate * plan.investment,
                       designed, plan)


def plan_design(scenario: Scenario, objective: DesignObjective = DesignObjective(), *,
                with_sequential: bool = True, with_before: bool = True,
                cluster: Cluster | None = None,
                method: str = "integrated", progress: Progress | None = None) -> DesignPlan:
    """The design of ``scenario`` and everything a planner reads next to it.

    ``method``: ``integrated`` (column generation, any size; on small instances it also carries
    the certificate of :mod:`optimizer.design.certify`) or ``exact`` (small instances only: the
    certified optimal design, :mod:`optimizer.design.exact`, a ValueError where no certificate
    fits; the chosen network is stocked by the exact stocking method too)."""
    if method not in DESIGN_METHODS:
        raise ValueError(f"unknown design method {method!r}; choose one of "
                         f"{', '.join(DESIGN_METHODS)}")
    from optimizer.reach import build_reach
    from optimizer.travel import TravelNetwork

    t0 = time.perf_counter()
    say = progress or (lambda f: None)
    timings: dict[str, float] = {}
    notes: list[str] = []
    if not scenario.candidates and not any(d.closable for d in scenario.depots):
        raise ValueError("the scenario has no candidate locations and no closable depot: "
                         "nothing to design (add candidates.csv)")

    def part(a: float, b: float) -> Progress:
        return lambda f: say(a + (b - a) * min(max(f, 0.0), 1.0))

    def lap(name: str, t: float) -> None:
        timings[name] = time.perf_counter() - t

    t = time.perf_counter()
    full = scenario.with_design([c.candidate_id for c in scenario.candidates])
    net_full = TravelNetwork(full)
    reach_full = build_reach(full, net_full, progress=part(0.0, 0.1), cluster=cluster)
    dp = build_design_problem(scenario, reach_full)
    lap("reach and problem", t)
    budget = objective.budget
    rules = objective.rules(dp)
    stocking = Exact() if method == "exact" else ColumnGeneration()
    sequential = before = None
    if with_sequential and budget is None:
        t = time.perf_counter()
        aims = design_targets(dp, rules).aimed_at
        for cushion in SEQUENTIAL_CUSHIONS:  # cover with room for stock-outs, more if stock fails
            seq_open = coverage_design(dp, aims, rules, cushion=cushion)
            sequential = stock_network(scenario, dp, seq_open, "sequential", cluster=cluster,
                                       method=stocking, progress=part(0.1, 0.3))
            if sequential.feasible:
                break
        lap("sequential baseline", t)
    t = time.perf_counter()
    pr = dp.stocking
    seeds = ([(seq_open, levels_in_order(sequential.plan, pr.part_ids, pr.location_ids))]
             if sequential is not None else [])
    design = solve_design(dp, objective, cluster=cluster, seeds=seeds, progress=part(0.3, 0.6))
    lap("integrated design", t)
    if method == "exact":
        t = time.perf_counter()
        design = _exact(dp, design, objective, notes)
        lap("exact design", t)
    if sequential is not None and _same_design(dp, design.open, sequential):
        chosen = NetworkPlan(method, sequential.opened, sequential.closed, sequential.fixed_cost,
                             sequential.yearly_cost, sequential.scenario, sequential.plan)
        notes.append("the integrated master keeps the locate-then-stock design: no other design "
                     "in its pool costs less")
    else:
        t = time.perf_counter()
        chosen = stock_network(scenario, dp, design.open, method, budget=budget, cluster=cluster,
                               method=stocking, progress=part(0.6, 0.8),
                               initial=design.levels if budget is None else None)
        lap("stock on the design", t)
        if (sequential is not None and sequential.yearly_cost < chosen.yearly_cost - 1e-6
                and sequential.plan.class_met.sum() >= chosen.plan.class_met.sum()):
            notes.append(f"the locate-then-stock design costs {sequential.yearly_cost:,.0f} a "
                         f"year once stocked against {chosen.yearly_cost:,.0f} for the "
                         "integrated master's design: it is kept")
            chosen = NetworkPlan(method, sequential.opened, sequential.closed,
                                 sequential.fixed_cost, sequential.yearly_cost,
                                 sequential.scenario, sequential.plan)
    if with_before and budget is None:
        t = time.perf_counter()
        existing = ~dp.is_candidate
        before = stock_network(scenario, dp, existing, "before", cluster=cluster,
                               method=stocking, progress=part(0.8, 0.95))
        lap("existing network", t)
    over = capacity_overruns(chosen)
    if over:
        worst = max(over, key=lambda o: o.units / o.cap_units if o.cap_units else 0.0)
        notes.append(f"{len(over)} location(s) hold more stock than their capacity (e.g. "
                     f"{worst.location_id}: {worst.units} units against {worst.cap_units}): the "
                     "stocking solver found no plan within the caps (see its notes); design.csv "
                     "flags them")
    plan = chosen.plan
    lower = aims_below(dp, design, plan)
    if lower:
        notes.append(f"the chosen network's plan aims lower than the design at {', '.join(lower)} "
                     "(no stock reaches those classes in full and the chosen network's ceiling is "
                     "lower than with every candidate open): no gap is reported against the "
                     "design's bound, which is for the design's aims")
    short = [(str(plan.class_tier[c]), int(plan.class_severity[c]))
             for c in np.nonzero(~plan.class_reachable)[0]]
    allowed = {d.depot_id for d in chosen.scenario.depots}  # what the chosen network has
    hb = tuple(hold_backs(full, reach_full, net_full, short, allowed=allowed)) if short else ()
    names = {d.depot_id: d.name for d in full.depots}
    say(1.0)
    return DesignPlan(chosen, design, sequential, before, hb, dp, reach_full, names,
                      time.perf_counter() - t0, timings, tuple(notes), tuple(over))


def _same_design(dp: DesignProblem, is_open: np.ndarray, network: NetworkPlan) -> bool:
    """Whether the switchable locations open in ``is_open`` are exactly those ``network`` has."""
    ids = [str(x) for x in dp.location_ids]
    have = {d.depot_id for d in network.scenario.depots}
    return all(bool(is_open[j]) == (ids[j] in have) for j in np.nonzero(dp.switchable)[0])


def _exact(dp: DesignProblem, heuristic: DesignResult, objective: DesignObjective,
           notes: list[str]) -> DesignResult:
    """The certified optimal design (:func:`solve_design_exact`); ``heuristic``: the integrated
    design, which already carries the certificate where one fits."""
    res = (replace(heuristic, method="exact")
           if heuristic.certified
           else solve_design_exact(dp, objective))
    notes.append(f"exact design: {res.yearly_cost:,.0f} a year, no design and stock levels below "
                 f"{res.bound:,.0f} meet the targets")
    return res
