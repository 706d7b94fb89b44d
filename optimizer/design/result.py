"""Result record of the network design."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.stocking.evaluate import Evaluation


@dataclass(frozen=True, eq=False)
class DesignResult:
    """One design with its stock levels.

    Attributes
    ----------
    open : (L,) bool, locations open (existing depots that stay open included).
    levels : (P, L) base-stock levels over every location (0 where closed).
    evaluation : the stocking model's prediction for ``levels``.
    yearly_cost : fixed + carrying rate x investment (currency per year).
    fixed_cost, investment : its parts (currency per year; currency).
    aimed_at : (C,) on-time shares aimed at (NaN: unconstrained).
    bound : a lower bound on ``yearly_cost`` over every design and stock level meeting
        ``aimed_at`` in the stocking model (None if not computed); gap : (yearly_cost - bound) /
        yearly_cost.
    certified : ``bound`` is the certificate's (:mod:`optimizer.design.certify`): it holds
        over every design and stock level and its optimum is ``levels`` when the gap is 0.
    system_bound : a lower bound on what the real network needs (coverage + resupply pipelines,
        :func:`optimizer.design.bound.coverage_bound` with ``system=True``); None if not computed.
    feasible : every class meets ``aimed_at``.
    method : "integrated" or "sequential".
    columns : stock vectors generated; runtime_s : wall time (s); timings : per step (s).
    notes : remarks for the planner.
    """

    open: np.ndarray
    levels: np.ndarray
    evaluation: Evaluation
    yearly_cost: float
    fixed_cost: float
    investment: float
    aimed_at: np.ndarray
    bound: float | None
    gap: float | None
    feasible: bool
    method: str
    columns: int
    runtime_s: float
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    system_bound: float | None = None
    certified: bool = False
