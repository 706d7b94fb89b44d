"""Turn (target - position) into transfer, repair and buy orders: :func:`plan_restock`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.restock.inputs import RestockInputs
from optimizer.restock.orders import excess_list, plan_buys, plan_repairs
from optimizer.restock.transfers import excess_and_shortfall, plan_transfers


@dataclass(frozen=True, eq=False)
class RestockPlan:
    """The orders of one run and the positions they lead to.

    Attributes
    ----------
    transfers, repairs, buys, cut, excess : order tables (columns in
        :mod:`optimizer.restock.transfers` / :mod:`optimizer.restock.orders`).
    position_before, position_after : (P, L) inventory positions before and after every order.
    flow : (P, L, L) transfer units from i to j; repair_credit, bought, cut_units : (P, L) units.
    budget : the buy budget or None.
    """

    inputs: RestockInputs
    transfers: pd.DataFrame
    repairs: pd.DataFrame
    buys: pd.DataFrame
    cut: pd.DataFrame
    excess: pd.DataFrame
    position_before: np.ndarray
    position_after: np.ndarray
    flow: np.ndarray
    repair_credit: np.ndarray
    repair_sent: np.ndarray
    bought: np.ndarray
    cut_units: np.ndarray
    budget: float | None

    @property
    def buy_amount(self) -> float:
        return float(self.buys["amount"].sum())

    @property
    def cut_amount(self) -> float:
        return float(self.cut["amount"].sum())

    @property
    def transfer_cost(self) -> float:
        return float(self.transfers["transport_cost"].sum())

    @property
    def repair_cost(self) -> float:
        return float(self.repairs["repair_cost"].sum())

    @property
    def excess_value(self) -> float:
        return float(self.excess["value"].sum())

    def totals(self) -> dict[str, float | int]:
        """Headline figures (currency and units)."""
        return {
            "transfer_units": int(self.flow.sum()), "transfer_cost": self.transfer_cost,
            "repair_units": int(self.repair_sent.sum()), "repair_cost": self.repair_cost,
            "repair_expected_serviceable": int(self.repair_credit.sum()),
            "buy_units": int(self.bought.sum()), "buy_amount": self.buy_amount,
            "cut_units": int(self.cut_units.sum()), "cut_amount": self.cut_amount,
            "excess_units": int(self.excess["quantity"].sum()), "excess_value": self.excess_value,
            "shortfall_units": int(np.clip(self.inputs.target - self.position_before, 0, None).sum()),
        }


def plan_restock(inp: RestockInputs, budget: float | None = None, *,
                 excess_quarters: float = 4.0) -> RestockPlan:
    """Transfers, then repairs, then buys (capped by ``budget``, currency), then the excess list.

    After the orders every (part, location) reaches its target except by exactly the units on the
    cut list: ``position_after = max(position_before, target) - cut_units`` where a location had
    excess to give, less what it shipped.
    """
    before = inp.positions.inventory_position
    transfers, flow = plan_transfers(inp)
    out_units, in_units = flow.sum(axis=2), flow.sum(axis=1)
    after_t = before - out_units + in_units
    short = np.clip(inp.target - after_t, 0, None)
    repairs, credit, sent = plan_repairs(inp, short)
    after_r = after_t + credit
    need = np.clip(inp.target - after_r, 0, None)
    buys, cut, bought = plan_buys(inp, after_r, need, budget)
    after = after_r + bought
    shelf_after = inp.positions.free_on_hand - out_units
    excess = excess_list(inp, after, shelf_after, excess_quarters)
    return RestockPlan(inp, transfers, repairs, buys, cut, excess, before, after, flow, credit,
                       sent, bought, need - bought, budget)


__all__ = ["RestockPlan", "excess_and_shortfall", "plan_restock"]
