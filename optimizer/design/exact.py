"""Exact network design for small instances: the integrated design, then its certificate.

The integrated design (:func:`optimizer.design.solve.solve_design`) gives a plan and the
coverage bound; the certificate (:mod:`optimizer.design.certify`) then solves the design master
over every stock vector of a box around it plus "tail" columns standing for every vector
outside, growing the box until the MIP's answer is a real plan. Its optimum is the optimal
design and its bound holds over every design and every stock level. :func:`exact_box` gives
the box an independent enumeration checks it with (benchmarks, tests).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from optimizer.design.problem import DesignProblem
from optimizer.design.result import DesignResult
from optimizer.design.solve import DesignObjective, solve_design
from optimizer.stocking.exact import MAX_VECTORS


def solve_design_exact(dp: DesignProblem, objective: DesignObjective = DesignObjective(), *,
                       time_limit_s: float = 20.0) -> DesignResult:
    """The optimal design and levels with a bound over every design and stock level (module
    docstring). ValueError under a budget, when no design meets the targets, or when the
    instance is too large for a certificate (use the integrated design)."""
    if objective.budget is not None:
        raise ValueError("the exact design minimises cost under targets; under a budget use "
                         "the integrated design")
    res = solve_design(dp, objective, time_limit_s=time_limit_s, method="exact")
    if not res.feasible:
        raise ValueError("no design meets the targets: " + "; ".join(res.notes))
    if not res.certified:
        raise ValueError("the instance is too large for the exact method (a certificate "
                         "enumerates every stock vector of a box around the plan): use the "
                         "integrated design")
    return replace(res, method="exact")


def exact_box(levels: np.ndarray, margin: int = 2) -> np.ndarray:
    """The box around a heuristic solution: its levels plus the largest margin up to ``margin``
    units whose box holds at most :data:`MAX_VECTORS` vectors, at every location (also at those
    it leaves closed, so every design can be stocked). ValueError if even a margin of 1 is too
    large."""
    levels = np.asarray(levels, dtype=np.int64)
    for m in range(int(margin), 0, -1):
        n = int(np.prod(levels + m + 1, axis=1).sum())
        if n <= MAX_VECTORS:
            return levels + m
    raise ValueError(f"the exact method would enumerate {n:,} stock vectors (limit "
                     f"{MAX_VECTORS:,}); it is for small instances: use the integrated design")
