"""The stocking solver's methods, as objects (:func:`optimizer.stocking.solve` takes one), and
their names for the CLI and the workspace (a module of its own, free of solver imports, so that
callers can validate a name cheaply)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnGeneration:
    """Lagrangian decomposition / column generation over per-part marginal analysis, any size
    (:func:`optimizer.stocking.lagrange.plan_levels`)."""

    name = "column-generation"


@dataclass(frozen=True)
class Exact:
    """Column generation, then every stock vector in the box 0..(its levels + ``margin``) per
    part and location enumerated into one multiple-choice knapsack MIP (small instances;
    :func:`optimizer.stocking.exact.solve_exact`): optimal within that box, with a proven bound."""

    margin: int = 2
    name = "exact"

    def __post_init__(self) -> None:
        if self.margin < 0:
            raise ValueError(f"Exact margin must be >= 0, got {self.margin}")


Method = ColumnGeneration | Exact

METHODS = (ColumnGeneration.name, Exact.name)
"""Method names the CLI (``--method``) and the workspace accept."""

DEPRECATED = {"greedy": ColumnGeneration.name}
"""Old names still accepted (with a DeprecationWarning): ``greedy`` always meant column generation."""


def method_named(name: str) -> Method:
    """The method called ``name`` (one of :data:`METHODS`, or a deprecated alias); ValueError
    listing the choices otherwise."""
    if name in DEPRECATED:
        warnings.warn(f"method {name!r} is deprecated: use {DEPRECATED[name]!r}",
                      DeprecationWarning, stacklevel=2)
        name = DEPRECATED[name]
    if name == ColumnGeneration.name:
        return ColumnGeneration()
    if name == Exact.name:
        return Exact()
    raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
