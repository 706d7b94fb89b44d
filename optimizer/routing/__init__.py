"""Vehicle routing with time windows: problem data, solvers, an independent checker, Solomon I/O
and the depot's multi-stop delivery runs.

Entry point: ``solve(problem, MaxRuntime(seconds), seed=0)`` (PyVRP); ``solve_ortools`` has the
same interface. ``check(problem, routes)`` verifies any route set on its own.
"""

from optimizer.routing.checker import CheckReport, Violation, ViolationKind, check
from optimizer.routing.ortools_solver import solve_ortools
from optimizer.routing.problem import ProblemError, RoutingProblem, dimacs_matrix
from optimizer.routing.pyvrp_solver import solve, solve_seeds
from optimizer.routing.solution import RoutingSolution
from optimizer.routing.stop import FirstOf, MaxIterations, MaxRuntime, NoImprovement

__all__ = [
    "CheckReport",
    "FirstOf",
    "MaxIterations",
    "MaxRuntime",
    "NoImprovement",
    "ProblemError",
    "RoutingProblem",
    "RoutingSolution",
    "Violation",
    "ViolationKind",
    "check",
    "dimacs_matrix",
    "solve",
    "solve_seeds",
    "solve_ortools",
]
