"""Result records of the stocking solvers: the plan, its frontier and the baselines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


def classes_met(target: np.ndarray, on_time: np.ndarray) -> np.ndarray:
    """(C,) bool: the predicted share is at or above the contract target (True for a class
    without a target, or without demand: nothing of it can be late)."""
    with np.errstate(invalid="ignore"):
        return np.isnan(target) | np.isnan(on_time) | (on_time >= target - 1e-9)


class Labelled(Protocol):
    """Anything holding base-stock ``levels`` (P, L) labelled by ``part_ids`` and
    ``location_ids`` (a :class:`StockingPlan`, a :class:`LevelTable`)."""

    part_ids: Sequence[str] | np.ndarray
    location_ids: Sequence[str] | np.ndarray
    levels: np.ndarray


@dataclass(frozen=True, eq=False)
class LevelTable:
    """Base-stock levels (P, L) labelled by part and location ids: a plan known beforehand
    (a network design's levels, last quarter's plan) handed to a solve on another problem."""

    part_ids: Sequence[str]
    location_ids: Sequence[str]
    levels: np.ndarray


def levels_in_order(table: Labelled, part_ids: Sequence[str], location_ids: Sequence[str]
                    ) -> np.ndarray:
    """``table``'s levels as a (P, L) array in the given order (0 where it has none)."""
    pix = {str(p): i for i, p in enumerate(table.part_ids)}
    lix = {str(d): j for j, d in enumerate(table.location_ids)}
    S = np.zeros((len(part_ids), len(location_ids)), dtype=np.int64)
    rows = np.array([pix.get(str(p), -1) for p in part_ids], dtype=np.int64)
    cols = np.array([lix.get(str(d), -1) for d in location_ids], dtype=np.int64)
    ri, ci = np.nonzero(rows >= 0)[0], np.nonzero(cols >= 0)[0]
    S[np.ix_(ri, ci)] = np.asarray(table.levels)[np.ix_(rows[ri], cols[ci])]
    return S


FRONTIER_POINTS = 12
"""Budgets of a frontier sweep, evenly spaced from 0 to ``extend`` x the plan's investment."""


@dataclass(frozen=True)
class FrontierPoint:
    """One point of the cost/service curve: investment (currency) and demand-weighted on-time share."""

    investment: float
    on_time: float
    units: int
    label: str = "budget"


@dataclass(frozen=True)
class BaselineResult:
    """A baseline policy evaluated by the same model at the same targets."""

    name: str
    investment: float
    overall_on_time: float
    feasible: bool
    levels: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True, eq=False)
class StockingPlan:
    """Base-stock levels and their predicted service.

    Attributes
    ----------
    levels : (P, L) int base-stock level per part and location (HQ first).
    part_ids, location_ids, unit_cost : identify rows/columns and price them (currency/unit).
    class_tier, class_severity, class_target : the service classes; target NaN when the class has
        no part deadline (response milestone) and is therefore not constrained.
    class_on_time : (C,) predicted demand-weighted on-time share per class.
    overall_on_time : predicted share over all in-service demand.
    investment : sum of unit_cost x levels (currency).
    method : "greedy", "exact", "item", "rule_of_thumb" or "file" (read back).
    runtime_s : solver wall time (seconds).
    bound : a proven lower bound on the minimum investment (exact method), or None.
    gap : relative gap (investment - bound) / investment, or None.
    budget : the budget the plan was solved under, or None (targets mode).
    feasible : every constrained class meets its contract target (False when a class is short,
        reachable or not: see ``class_met`` and ``class_ceiling``).
    effective_target : (C,) shares the solver aimed at ("aimed_at"): the contract targets, capped
        just below the ceiling for classes no stock can reach (see ``notes``).
    class_ceiling : (C,) on-time share with stock at every location (None if not computed).
    notes : human-readable remarks (capped targets, unconstrained classes, ...).
    timings : seconds per phase of the solve (start, pricing rounds, MIP, ...).
    frontier, baselines : optional extras.
    """

    levels: np.ndarray
    part_ids: np.ndarray
    location_ids: np.ndarray
    unit_cost: np.ndarray
    class_tier: np.ndarray
    class_severity: np.ndarray
    class_target: np.ndarray
    class_on_time: np.ndarray
    overall_on_time: float
    investment: float
    method: str
    runtime_s: float
    scenario: str = ""
    currency: str = ""
    bound: float | None = None
    gap: float | None = None
    budget: float | None = None
    feasible: bool = True
    effective_target: np.ndarray | None = None
    class_ceiling: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    frontier: tuple[FrontierPoint, ...] = ()
    baselines: tuple[BaselineResult, ...] = ()

    @property
    def class_met(self) -> np.ndarray:
        """(C,) bool: see :func:`classes_met`."""
        return classes_met(self.class_target, self.class_on_time)

    @property
    def class_reachable(self) -> np.ndarray:
        """(C,) bool: the contract target is at or below the ceiling (True when unknown)."""
        if self.class_ceiling is None:
            return np.ones(len(self.class_tier), dtype=bool)
        with np.errstate(invalid="ignore"):
            return np.isnan(self.class_target) | ~(self.class_target > self.class_ceiling)

    def level(self, part_id: str, location_id: str) -> int:
        """Base stock of one part at one location."""
        p = int(np.nonzero(self.part_ids == part_id)[0][0])
        j = int(np.nonzero(self.location_ids == location_id)[0][0])
        return int(self.levels[p, j])

    @property
    def units(self) -> int:
        return int(self.levels.sum())
