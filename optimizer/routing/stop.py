"""Stopping criteria shared by the routing solvers, as small value objects.

Each solver translates them into its own mechanism (PyVRP's ``pyvrp.stop`` objects, OR-Tools'
time limit and a solution callback), so a caller writes ``solve(problem, MaxRuntime(5))`` whatever
the solver.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MaxRuntime:
    """Stop after ``seconds`` of wall-clock search time."""

    seconds: float

    def __post_init__(self) -> None:
        if not self.seconds >= 0:
            raise ValueError(f"MaxRuntime seconds must be >= 0, got {self.seconds}")


@dataclass(frozen=True)
class NoImprovement:
    """Stop after ``iterations`` consecutive iterations (solutions, for OR-Tools) without a better one."""

    iterations: int

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ValueError(f"NoImprovement iterations must be >= 1, got {self.iterations}")


@dataclass(frozen=True)
class MaxIterations:
    """Stop after ``iterations`` iterations (solutions found, for OR-Tools)."""

    iterations: int

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ValueError(f"MaxIterations iterations must be >= 1, got {self.iterations}")


@dataclass(frozen=True)
class FirstOf:
    """Stop as soon as any of the given criteria says so."""

    criteria: tuple[StoppingCriterion, ...]

    def __init__(self, *criteria: StoppingCriterion) -> None:
        if not criteria:
            raise ValueError("FirstOf needs at least one criterion")
        object.__setattr__(self, "criteria", tuple(criteria))


StoppingCriterion = MaxRuntime | NoImprovement | MaxIterations | FirstOf


def flatten(stop: StoppingCriterion) -> list[MaxRuntime | NoImprovement | MaxIterations]:
    """The leaf criteria of ``stop`` (nested ``FirstOf`` unpacked)."""
    if isinstance(stop, FirstOf):
        return [leaf for inner in stop.criteria for leaf in flatten(inner)]
    if isinstance(stop, MaxRuntime | NoImprovement | MaxIterations):
        return [stop]
    raise TypeError(f"not a stopping criterion: {stop!r}")


def runtime_limit(stop: StoppingCriterion) -> float | None:
    """The tightest ``MaxRuntime`` in ``stop`` in seconds, or None when there is none."""
    limits = [c.seconds for c in flatten(stop) if isinstance(c, MaxRuntime)]
    return min(limits) if limits else None
