"""Stocking: base-stock levels per part and location under time-based service targets.

``solve(problem, Objective(), stop=MaxRuntime(60) | GapReached(1e-3), params=SolveParams(),
cluster=None) -> Result`` is the solver (:mod:`optimizer.stocking.api`); :func:`build_problem`
turns a scenario and its reach into the problem, ``evaluate.evaluate`` predicts the service of any
levels, :func:`simulate` plays them out, :mod:`optimizer.stocking.analysis` adds the notes,
frontier and baselines a planner reads (:func:`plan_scenario`: scenario in, plan out).

Names are loaded on first use, so importing a light submodule (``problem``, ``io``) does not
pull in the solvers (HiGHS, PuLP, SciPy).
"""

from importlib import import_module
from typing import Any

_WHERE = {
    "solve": "api", "Objective": "api", "Result": "api", "RunStats": "api",
    "SolveParams": "params",
    "MaxRuntime": "stop", "GapReached": "stop", "FirstOf": "stop", "StoppingCriterion": "stop",
    "ColumnGeneration": "methods", "Exact": "methods", "Method": "methods", "METHODS": "methods",
    "method_named": "methods",
    "Cluster": "cluster", "InProcess": "cluster", "DaskCluster": "cluster", "ClusterError": "cluster",
    "connect": "cluster",
    "StockingProblem": "problem", "build_problem": "problem",
    "Evaluation": "evaluate",
    "StockingPlan": "result", "FrontierPoint": "result", "BaselineResult": "result",
    "plan_scenario": "analysis", "make_plan": "analysis", "frontier": "analysis",
    "simulate": "simulation", "SimulationResult": "simulation",
    "read_plan": "io", "write_plan": "io",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
