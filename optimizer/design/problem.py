"""The network-design problem as plain arrays: a stocking problem over every location (the existing
depots and every candidate, open) plus what a location costs and whether the design may switch it.

Built from the scenario with all candidates opened (:meth:`Scenario.with_design`), so the reach
patterns list every location that could serve a site in time; a location the design leaves closed
simply holds no stock, which the evaluation model treats exactly as an absent location (a stock
vector's on-time figures never depend on where other parts are stocked).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inventory.domain import Scenario
from optimizer.stocking.problem import ReachLike, StockingProblem, build_problem
from optimizer.supersession import planning_scenario


@dataclass(frozen=True, eq=False)
class DesignProblem:
    """Shapes: L locations (index 0 the HQ), as in ``stocking``.

    Attributes
    ----------
    stocking : the stocking problem over every location.
    is_candidate : (L,) bool, a candidate location (closed unless the design opens it).
    switchable : (L,) bool, the design decides it: a candidate, or an existing closable depot.
    fixed_cost : (L,) currency per year while open: annual fixed cost plus the one-off opening
        cost spread over ``design_years`` (candidates); the saving of closing (closable depots).
    kind : (L,) location kind (``hq``, ``regional``, ``consignment``, ...).
    carrying_rate : share of the stock's value charged per year.
    """

    stocking: StockingProblem
    is_candidate: np.ndarray
    switchable: np.ndarray
    fixed_cost: np.ndarray
    kind: np.ndarray
    carrying_rate: float

    @property
    def location_ids(self) -> np.ndarray:
        return self.stocking.location_ids

    @property
    def cap_units(self) -> np.ndarray:
        """(L,) most units a location may hold (``inf``: no cap), as the stocking problem has."""
        return self.stocking.cap_units

    @property
    def cap_value(self) -> np.ndarray:
        """(L,) most stock value a location may hold (currency; ``inf``: no cap)."""
        return self.stocking.cap_value

    def yearly_cost(self, levels: np.ndarray, open_mask: np.ndarray) -> tuple[float, float, float]:
        """``(total, fixed, investment)``: fixed costs of the open switchable locations plus the
        carrying rate times the stock investment (currency per year; investment in currency)."""
        inv = float(self.stocking.unit_cost @ levels.sum(axis=1))
        fixed = float(self.fixed_cost[self.switchable & open_mask].sum())
        return fixed + self.carrying_rate * inv, fixed, inv


def build_design_problem(scenario: Scenario, reach: ReachLike | None = None, *,
                         progress: Callable[[float], None] | None = None) -> DesignProblem:
    """The design problem of ``scenario`` (reach over the network with every candidate open,
    built here unless given; it must belong to ``scenario.with_design(all candidates)``)."""
    full = scenario.with_design([c.candidate_id for c in scenario.candidates])
    if reach is None:
        from optimizer.reach import build_reach
        from optimizer.travel import TravelNetwork

        reach = build_reach(full, TravelNetwork(full), progress=progress)
    stocking = build_problem(planning_scenario(full)[0], reach)  # pooled as plan_scenario pools
    cand = {c.candidate_id: c for c in scenario.candidates}
    years = scenario.settings.design_years
    L = stocking.n_locations
    is_cand = np.zeros(L, dtype=bool)
    switch = np.zeros(L, dtype=bool)
    fixed = np.zeros(L)
    kind = np.empty(L, dtype=object)
    for j, lid in enumerate(stocking.location_ids):
        d = full.depot(lid)
        kind[j] = str(d.kind)
        if lid in cand:
            is_cand[j] = switch[j] = True
            fixed[j] = cand[lid].annual_fixed_cost + cand[lid].opening_cost / years
        elif d.closable:
            switch[j] = True
            fixed[j] = d.annual_fixed_cost
    return DesignProblem(stocking, is_cand, switch, fixed, kind,
                         float(scenario.settings.holding_rate_per_year))
