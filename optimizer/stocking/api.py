"""The stocking solver's entry point: ``solve(problem, objective, stop=..., params=..., cluster=...)``.

Shaped like :mod:`optimizer.routing` (and PyVRP): the objective, the stopping criteria, the
method and the tuning knobs are small value objects, and the :class:`Result` holds the solution
and how it was found, nothing presentational (notes, the cost/service frontier and the baselines
are in :mod:`optimizer.stocking.analysis`)::

    from optimizer.stocking import GapReached, MaxRuntime, Objective, solve
    result = solve(problem, Objective(), stop=MaxRuntime(120) | GapReached(0.005))
    result.levels, result.investment, result.gap, result.stats.runtime_s
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optimizer.stocking.bounds import LevelBounds
from optimizer.stocking.cluster import Cluster, connect
from optimizer.stocking.evaluate import Evaluation
from optimizer.stocking.methods import ColumnGeneration, Exact, Method
from optimizer.stocking.params import SolveParams
from optimizer.stocking.problem import StockingProblem
from optimizer.stocking.result import classes_met
from optimizer.stocking.stop import (
    DEFAULT_STOP,
    StoppingCriterion,
    mip_gap,
    runtime_limit,
    waits_for_first_plan,
)

Progress = Callable[[float], None]


@dataclass(frozen=True, eq=False)
class Objective:
    """What to solve for.

    ``targets`` (C,) on-time shares to meet at the least investment (NaN: unconstrained class);
    None aims at the contract targets, capped just below the ceiling of classes no stock can
    reach (:func:`optimizer.stocking.targets.target_plan`). ``budget`` (currency): instead,
    the best overall on-time share with investment <= budget (then ``targets`` must be None).
    """

    targets: np.ndarray | None = None
    budget: float | None = None

    def __post_init__(self) -> None:
        if self.budget is not None:
            if not self.budget >= 0:
                raise ValueError(f"budget must be >= 0, got {self.budget}")
            if self.targets is not None:
                raise ValueError("give targets or a budget, not both")
        if self.targets is not None:
            t = np.asarray(self.targets, dtype=float)
            if t.ndim != 1 or np.any(t[~np.isnan(t)] < 0) or np.any(t[~np.isnan(t)] > 1):
                raise ValueError("targets must be one share in [0, 1] (or NaN) per class")
            object.__setattr__(self, "targets", t)

    @property
    def mode(self) -> str:
        return "budget" if self.budget is not None else "targets"


@dataclass(frozen=True)
class RunStats:
    """How a solve went: the method's name, wall time (s) and per-phase ``timings`` (s), the
    column pool's size, where the per-part work ran (``cluster``: an address or "in-process",
    and its ``workers``), whether the ``MaxRuntime`` cut the search short (``out_of_time``; then
    ``stop_reason`` is "max runtime", else "completed"), the pricing rounds run after the start
    pass (``pricing_rounds``), and the solver's own remarks (``messages``: fallbacks, targets
    lowered to fit capacities)."""

    method: str
    runtime_s: float
    timings: dict[str, float] = field(default_factory=dict)
    columns: int = 0
    cluster: str = "in-process"
    workers: int = 1
    out_of_time: bool = False
    messages: tuple[str, ...] = ()
    pricing_rounds: int = 0

    @property
    def stop_reason(self) -> str:
        return "max runtime" if self.out_of_time else "completed"


@dataclass(frozen=True, eq=False)
class Result:
    """Base-stock levels and their predicted service.

    Attributes
    ----------
    levels : (P, L) int base stock per part and location (HQ first).
    evaluation : the model's prediction for ``levels`` (class and overall on-time shares, ...).
    objective : what was solved for; ``aimed_at`` (C,) the shares aimed at (NaN: unconstrained;
        all NaN under a budget); ``ceiling`` (C,) each class's share with stock everywhere.
    investment : unit cost x levels (currency).
    feasible : targets mode: every class meets its contract target; budget mode: within budget.
    bound, gap : a lower bound on the investment and (investment - bound) / investment;
        ``bound_scope`` says over what: "column pool" (column generation: the pool LP, a bound
        over plans made of generated columns, not over every plan) or "enumerated box" (exact:
        proven over every plan in the box); None in budget mode.
    stats : :class:`RunStats`.
    """

    levels: np.ndarray
    evaluation: Evaluation
    objective: Objective
    aimed_at: np.ndarray
    ceiling: np.ndarray
    investment: float
    feasible: bool
    bound: float | None
    gap: float | None
    bound_scope: str | None
    stats: RunStats

    @property
    def units(self) -> int:
        return int(self.levels.sum())

    @property
    def overall_on_time(self) -> float:
        return self.evaluation.overall_on_time

    @property
    def class_on_time(self) -> np.ndarray:
        return self.evaluation.class_on_time


def solve(problem: StockingProblem, objective: Objective | None = None, *,
          stop: StoppingCriterion | None = None, params: SolveParams | None = None,
          cluster: Cluster | str | None = None, method: Method | None = None,
          progress: Progress | None = None, bounds: LevelBounds | None = None,
          initial: np.ndarray | None = None) -> Result:
    """Base-stock levels for ``problem`` under ``objective`` (default: the contract targets).

    ``stop`` (default :data:`~optimizer.stocking.stop.DEFAULT_STOP`): ``MaxRuntime`` bounds the
    whole solve (each master MIP gets the time left), ``GapReached`` the master MIPs' relative
    gap. ``method``: :class:`ColumnGeneration` (default, any size) or :class:`Exact` (small
    instances). ``cluster``: where the per-part work runs, a :func:`connect`-ed cluster or its
    spec (``"local:2"``, ``"tcp://host:8786"``; connected for this call and closed after); None
    runs it in this process. The plan does not depend on where the work ran. ``bounds``:
    planner minimums / maximums per part and location (:mod:`optimizer.stocking.bounds`) the
    plan keeps to (column generation only). ``initial`` (P, L): a plan known beforehand (last
    quarter's, a network design's levels on this network) the search starts from and never
    ends worse than once it meets the targets (:func:`optimizer.stocking.lagrange.plan_levels`).
    """
    if isinstance(cluster, str):
        with connect(cluster, use_env=False) as own:
            return solve(problem, objective, stop=stop, params=params, cluster=own,
                         method=method, progress=progress, bounds=bounds, initial=initial)
    from optimizer.stocking.exact import solve_exact
    from optimizer.stocking.lagrange import plan_levels
    from optimizer.stocking.targets import target_plan

    objective = objective or Objective()
    stop = stop or DEFAULT_STOP
    params = params or SolveParams()
    method = method or ColumnGeneration()
    if not isinstance(method, ColumnGeneration | Exact):
        raise TypeError(f"method must be ColumnGeneration() or Exact(), got {method!r}")
    if bounds is not None and isinstance(method, Exact):
        raise ValueError("minimum / maximum stock limits are planned with column generation; "
                         "the exact method does not take them")
    if objective.targets is not None and len(objective.targets) != problem.n_classes:
        raise ValueError(f"targets has {len(objective.targets)} entries, the problem "
                         f"{problem.n_classes} classes")
    t0 = time.perf_counter()
    limit = runtime_limit(stop)
    deadline = None if limit is None else t0 + limit
    gap_goal = mip_gap(stop)
    tp = target_plan(problem)
    budget = objective.budget
    if budget is not None:
        aimed = np.full(problem.n_classes, np.nan)
    else:
        aimed = tp.aimed_at if objective.targets is None else objective.targets
    res = plan_levels(problem, aimed if budget is None else None, budget=budget,
                      rounds=params.rounds, neighbourhood=params.neighbourhood,
                      swap_limit=params.swap_limit, time_limit_s=float("inf"),
                      mip_gap=gap_goal, progress=progress, cluster=cluster, params=params,
                      deadline=deadline, first_plan=waits_for_first_plan(stop), bounds=bounds,
                      initial=initial)
    S, ev = res.levels, res.evaluation
    timings = dict(res.timings)
    messages = list(res.notes)
    bound, scope = (res.lp_bound, "column pool") if budget is None else (None, None)
    if budget is None and not res.feasible:  # path levels short of the aimed targets: no gap
        bound, scope = None, None
    if isinstance(method, Exact):
        t = time.perf_counter()
        left = 120.0 if deadline is None else max(deadline - t, params.min_mip_s)
        x = solve_exact(problem, S + method.margin, targets=None if budget is not None else aimed,
                        budget=budget, time_limit_s=left)
        S, ev = x.levels, _evaluate(problem, x.levels, cluster, params)
        bound, scope = (x.bound, "enumerated box") if budget is None else (None, None)
        messages.append(f"exact over the box 0..column generation + {method.margin} "
                        f"({x.n_vectors} stock vectors)")
        timings["exact"] = time.perf_counter() - t
    investment = float(problem.unit_cost @ S.sum(axis=1))
    gap = None
    if bound is not None and investment > 0:
        gap = max(0.0, (investment - bound) / investment)
    elif bound is not None:
        gap = 0.0
    feasible = (bool(classes_met(problem.class_target, ev.class_on_time).all())
                if budget is None else investment <= budget + 1e-6)
    runtime = time.perf_counter() - t0
    out_of_time = res.cut_short or (deadline is not None and time.perf_counter() > deadline)
    stats = RunStats(method.name, runtime, timings, res.columns,
                     "in-process" if cluster is None else cluster.address,
                     1 if cluster is None else cluster.n_workers, out_of_time, tuple(messages),
                     res.rounds)
    return Result(S, ev, objective, np.asarray(aimed, dtype=float), tp.ceiling, investment,
                  feasible, bound, gap, scope, stats)


def _evaluate(problem: StockingProblem, S: np.ndarray, cluster: Cluster | None,
              params: SolveParams) -> Evaluation:
    from optimizer.stocking.chunks import evaluate_levels

    return evaluate_levels(problem, S, cluster=cluster,
                           chunk_parts=params.chunk_parts(problem.n_locations, problem.n_parts))
