"""Network design: which candidate stocking locations to open (and closable depots to keep),
chosen together with every base-stock level, at the least yearly fixed + carrying cost under the
contract targets (integrated location-inventory planning with time-based service).

Entry points: :func:`build_design_problem` (scenario -> :class:`DesignProblem`),
:func:`solve_design` (-> :class:`DesignResult`), :func:`sequential_design` (the locate-then-stock
baseline), :func:`coverage_bound` (a lower bound over every design and stock level).
"""

from optimizer.design.bound import coverage_bound
from optimizer.design.problem import DesignProblem, build_design_problem
from optimizer.design.result import DesignResult
from optimizer.design.solve import DesignObjective, sequential_design, solve_design

__all__ = ["DesignObjective", "DesignProblem", "DesignResult", "build_design_problem",
           "coverage_bound", "sequential_design", "solve_design"]
