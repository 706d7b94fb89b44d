"""Phasing a step-up over quarters, and what each slice of the buy money buys.

* :class:`StepCap`: the ``--max-step`` cap on a quarter's buy amount, an amount of money or a
  share of today's stock value (``"25%"``).
* :func:`glide_path`: the quarter's orders (already capped), then the buys the cap deferred,
  quarter by quarter, most gain per money first (the ranking of the run's marginal curve), each
  quarter's buys within the cap; positions carry over (one-for-one replenishment keeps them),
  and each quarter's service per class comes from the same model the orders were valued on.
* :func:`marginal_points`: the service after transfers and repairs plus the most valuable buys
  up to a share of the buy amount, for the cost/service curve.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.restock.lines import BUY, fit, rank
from optimizer.restock.plan import RestockPlan
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
    """(P, L) positions after the proposed transfers and repairs, before any buy."""
    lines = plan.lines
    qty = np.where(lines.kind == BUY, 0, plan.placed_qty)
    return lines.positions(plan.position_before, qty)


def marginal_points(plan: RestockPlan, model: StockingModel,
                    fractions=(0.0, 0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
    """Stock value and overall on-time share after the transfers and repairs plus the most
    valuable planned buys (uncapped) up to each fraction of their amount."""
    lines = plan.lines
    order = rank(lines, plan.planned_gains)
    order = order[plan.planned_qty[order] > 0]
    base = placed_before_buys(plan)
    total = float(lines.unit_money()[order] @ plan.planned_qty[order])
    rows = []
    for f in fractions:
        qty = fit(lines, order, np.where(np.isin(np.arange(len(lines)), order),
                                         plan.planned_qty, 0), f * total)
        pos = base + lines.positions(np.zeros_like(base), qty)
        _, overall = model.shares(pos)
        rows.append((stock_value(plan.inputs.unit_cost, pos), overall,
                     f"buys {f:.0%} (most gain per money first)"))
    return pd.DataFrame(rows, columns=["investment", "on_time", "label"])


def glide_path(plan: RestockPlan, model: StockingModel, quarter: Quarter, cap: float,
               quarters: int = 4) -> pd.DataFrame:
    """Service per class per quarter: today, this quarter's orders, then the deferred buys
    within ``cap`` a quarter (most gain per money first) for ``quarters`` quarters in all.

    Columns: ``quarter``, ``buy_amount``, ``stock_value``, ``deferred_amount`` (buys still to
    place after that quarter), ``on_time`` (overall) and ``on_time_<class>`` per class.
    """
    if quarters < 1:
        raise ValueError(f"quarters must be >= 1, got {quarters}")
    lines = plan.lines
    unit = lines.unit_money()
    remaining = np.where(lines.kind == BUY, plan.planned_qty - plan.placed_qty, 0).clip(0)
    order = rank(lines, plan.planned_gains)
    classes = plan.classes
    rows = []

    def row(label: str, pos: np.ndarray, spent: float, deferred: np.ndarray) -> None:
        per_class, overall = model.shares(pos)
        rows.append({"quarter": label, "buy_amount": round(spent, 2),
                     "stock_value": round(stock_value(plan.inputs.unit_cost, pos), 2),
                     "deferred_amount": round(float(unit @ deferred), 2), "on_time": overall,
                     **{f"on_time_{c}": v for c, v in zip(classes, per_class, strict=True)}})

    row("today", plan.position_before, 0.0, np.where(lines.kind == BUY, plan.planned_qty, 0))
    pos = plan.position_after
    row(str(quarter), pos, plan.buy_amount, remaining)
    q = quarter
    for _ in range(quarters - 1):
        q = Quarter(q.year + (q.q == 4), q.q % 4 + 1)
        live = order[remaining[order] > 0]
        take = fit(lines, live, np.where(np.isin(np.arange(len(lines)), live), remaining, 0), cap)
        pos = pos + lines.positions(np.zeros_like(pos), take)
        remaining = remaining - take
        row(str(q), pos, float(unit @ take), remaining)
    return pd.DataFrame(rows)
