"""Network design: which candidate stocking locations to open (and closable depots to keep),
chosen together with every base-stock level, at the least yearly fixed + carrying cost under the
contract targets (integrated location-inventory planning with time-based service).

Entry points: :func:`build_design_problem` (scenario -> :class:`DesignProblem`),
:func:`solve_design` (-> :class:`DesignResult`), :func:`coverage_bound` (a lower bound over every
design and stock level), :func:`plan_design` (the whole pipeline: design, the locate-then-stock
baseline, the plan on the chosen network).
"""

from optimizer.design.bound import coverage_bound
from optimizer.design.plan import DesignPlan, plan_design
from optimizer.design.problem import DesignProblem, build_design_problem
from optimizer.design.result import DesignResult
from optimizer.design.solve import DesignObjective, solve_design

__all__ = ["DesignObjective", "DesignPlan", "DesignProblem", "DesignResult", "build_design_problem",
           "coverage_bound", "plan_design", "solve_design"]
