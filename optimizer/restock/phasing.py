"""Phasing a step-up over quarters, and what each slice of the buy money buys.

* :class:`StepCap`: the ``--max-step`` cap on a quarter's buy amount, an amount of money or a
  share of today's stock value (``"25%"``).
* :func:`glide_path`: the quarter's orders (already capped), then each later quarter planned
  again (:func:`optimizer.restock.plan.plan_restock`, within the cap) from the stock the earlier
  quarters' orders leave (:func:`next_positions`): its transfers, repairs and buys are chosen
  and valued afresh on that stock, so the path follows the service each quarter's money buys,
  not a slice of one final plan. Each quarter's service per class comes from the same model the
  orders were valued on.
* :func:`marginal_points`: the service after transfers and repairs plus the most valuable buys
  up to a share of the buy amount, for the cost/service curve.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from optimizer.restock.lines import BUY, fit, rank
from optimizer.restock.plan import RestockPlan, plan_restock
from optimizer.restock.positions import Positions
from optimizer.restock.quarter import Quarter
from optimizer.restock.value import StockingModel

_STEP_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%?)\s*")


@dataclass(frozen=True)
class StepCap:
    """A cap on one quarter's buy amount: ``amount`` (currency) or ``share`` of today's stock
    value (0 < share)."""

    amount: float | None = None
    share: float | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.share is None):
            raise ValueError("a step cap is either an amount or a share")
        v = self.amount if self.amount is not None else self.share
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"the step cap must be > 0, got {v}")

    @classmethod
    def parse(cls, text: str) -> StepCap:
        """``"2500000"`` (an amount) or ``"25%"`` (a share of today's stock value)."""
        m = _STEP_RE.fullmatch(str(text))
        if not m:
            raise ValueError(f"{text!r} is neither an amount (e.g. 2500000) nor a share of "
                             "today's stock value (e.g. 25%)")
        v = float(m[1])
        return cls(share=v / 100.0) if m[2] else cls(amount=v)

    def resolve(self, stock_value_today: float) -> float:
        """The cap in currency."""
        return float(self.amount) if self.amount is not None else self.share * stock_value_today

    def __str__(self) -> str:
        return f"{self.share:.1%}" if self.share is not None else f"{self.amount:,.2f}"


def stock_value(unit_cost: np.ndarray, positions: np.ndarray) -> float:
    """Value of the positions (negative ones count 0), currency."""
    return float(unit_cost @ np.clip(positions, 0, None).sum(axis=1))


def placed_before_buys(plan: RestockPlan) -> np.ndarray:
    """(P, L) positions after the proposed transfers, repairs and contractual buys, before any
    valued buy."""
    lines = plan.lines
    qty = np.where(lines.kind == BUY, 0, plan.placed_qty)
    floor = 0 if plan.contract_units is None else plan.contract_units
    return lines.positions(plan.position_before, qty) + floor


def marginal_points(plan: RestockPlan, model: StockingModel,
                    fractions=(0.0, 0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
    """Stock value and overall on-time share after the transfers and repairs plus the most
    valuable planned buys (uncapped) up to each fraction of their amount."""
    lines = plan.lines
    order = rank(lines, plan.planned_gains)
    order = order[plan.planned_qty[order] > 0]
    base = placed_before_buys(plan)
    total = float(lines.unit_money()[order] @ plan.planned_qty[order])
    fractions = list(fractions)
    pos = [base + lines.positions(np.zeros_like(base), fit(
        lines, order, np.where(np.isin(np.arange(len(lines)), order), plan.planned_qty, 0),
        f * total)) for f in fractions]
    rows = [(stock_value(plan.inputs.unit_cost, p), overall,
             f"buys {f:.0%} (most gain per money first)")
            for f, p, (_, overall) in zip(fractions, pos, model.shares_many(pos), strict=True)]
    return pd.DataFrame(rows, columns=["investment", "on_time", "label"])


def next_positions(plan: RestockPlan) -> Positions:
    """The positions a quarter after ``plan``'s orders: everything ordered (and what was in
    transit or due from repair) is on the shelf, the defective units sent to repair are gone,
    backorders and reservations are as they were; the inventory position is the plan's
    ``position_after`` (one-for-one replenishment keeps it while demand is met)."""
    pos = plan.inputs.positions
    on_hand = np.clip(plan.position_after + pos.backorders + pos.reserved, pos.reserved, None)
    zero = np.zeros_like(on_hand)
    return Positions(pos.part_ids, pos.location_ids, on_hand=on_hand.astype(np.int64),
                     in_transit=zero, repair_due=zero.copy(),
                     defective=np.clip(pos.defective - plan.repair_sent, 0, None),
                     backorders=pos.backorders.copy(), reserved=pos.reserved.copy())


GLIDE_ORDER_COLUMNS = ("quarter", "kind", "part_id", "from_depot", "to_depot", "quantity",
                       "money", "gain_per_year")


def quarter_orders(label: str, plan: RestockPlan) -> pd.DataFrame:
    """One quarter's orders of a glide path as one table (money: transport, repair or buy)."""
    frames = [
        pd.DataFrame({"kind": "transfer", "part_id": plan.transfers["part_id"],
                      "from_depot": plan.transfers["from_depot"],
                      "to_depot": plan.transfers["to_depot"],
                      "quantity": plan.transfers["quantity"],
                      "money": plan.transfers["transport_cost"],
                      "gain_per_year": plan.transfers["gain_per_year"]}),
        pd.DataFrame({"kind": "repair", "part_id": plan.repairs["part_id"],
                      "from_depot": plan.repairs["from_depot"],
                      "to_depot": plan.repairs["to_depot"],
                      "quantity": plan.repairs["quantity"], "money": plan.repairs["repair_cost"],
                      "gain_per_year": plan.repairs["gain_per_year"]}),
        pd.DataFrame({"kind": "buy", "part_id": plan.buys["part_id"], "from_depot": "",
                      "to_depot": plan.buys["to_depot"], "quantity": plan.buys["quantity"],
                      "money": plan.buys["amount"], "gain_per_year": plan.buys["gain_per_year"]}),
    ]
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else pd.DataFrame(columns=list(GLIDE_ORDER_COLUMNS[1:]))
    df.insert(0, "quarter", label)
    return df[list(GLIDE_ORDER_COLUMNS)]


def glide_path(plan: RestockPlan, model: StockingModel, quarter: Quarter, cap: float,
               quarters: int = 4, *, excess_quarters: float = 4.0,
               minimums: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Service per class per quarter: today, this quarter's orders (``plan``, capped), then
    each later quarter re-planned within ``cap`` from the stock the one before leaves, for
    ``quarters`` quarters in all (see the module docstring).

    Returns the path and the later quarters' orders (:data:`GLIDE_ORDER_COLUMNS`). Path
    columns: ``quarter``, ``buy_amount``, ``transfer_units``, ``repair_units``,
    ``stock_value``, ``deferred_amount`` (the buys that pay for themselves and still wait for
    money after that quarter), ``on_time`` (overall) and ``on_time_<class>`` per class.
    """
    if quarters < 1:
        raise ValueError(f"quarters must be >= 1, got {quarters}")
    classes = plan.classes
    rows = []

    def row(label: str, pos: np.ndarray, p: RestockPlan | None, deferred: float) -> None:
        per_class, overall = model.shares(pos)
        rows.append({"quarter": label, "buy_amount": 0.0 if p is None else round(
                         p.buy_amount + p.contract_amount, 2),
                     "transfer_units": 0 if p is None else int(p.flow.sum()),
                     "repair_units": 0 if p is None else int(p.repair_sent.sum()),
                     "stock_value": round(stock_value(plan.inputs.unit_cost, pos), 2),
                     "deferred_amount": round(deferred, 2), "on_time": overall,
                     **{f"on_time_{c}": v for c, v in zip(classes, per_class, strict=True)}})

    lines = plan.lines
    wanted = float(lines.unit_money()[lines.kind == BUY] @ plan.planned_qty[lines.kind == BUY])
    row("today", plan.position_before, None, wanted)
    row(str(quarter), plan.position_after, plan, plan.cut_amount)
    orders = []
    q, prev = quarter, plan
    for _ in range(quarters - 1):
        q = Quarter(q.year + (q.q == 4), q.q % 4 + 1)
        if prev.cut_amount > 0:
            inp = replace(prev.inputs, positions=next_positions(prev))
            prev = plan_restock(inp, None, excess_quarters=excess_quarters, model=model,
                                max_step=cap, min_gain=prev.min_gain, minimums=minimums)
            orders.append(quarter_orders(str(q), prev))
            row(str(q), prev.position_after, prev, prev.cut_amount)
        else:  # nothing deferred: the stock stays
            row(str(q), prev.position_after, None, 0.0)
    glide_orders = pd.concat(orders, ignore_index=True) if orders else pd.DataFrame(
        columns=list(GLIDE_ORDER_COLUMNS))
    return pd.DataFrame(rows), glide_orders
