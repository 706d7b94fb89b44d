"""Repair and buy orders for the shortfall left after transfers, the budget cut and the excess list.

Order of cost: transfers (:mod:`optimizer.restock.transfers`) first, then **repairs** of defective
units on hand, then **buys**.

Repairs: a repairable part whose repair loop (send to the HQ repair center, turnaround, ship to
the depot) fits in the horizon may cover a depot's remaining shortfall ``r`` by sending
``ceil(r / yield)`` defective units (the depot's own first, then the HQ's, then the other depots'
in location order). The position is credited with the expected serviceable units,
``floor(sent x yield)`` capped at ``r``, and only units whose yield is credited are sent
(``ceil(credit / yield)``); whatever is still short is bought.

Buys are delivered to the depot with the buy lead time (``inbound_days``). Under a budget each
bought unit is ranked by service gained per unit of money: the unit that lifts the level from
``s - 1`` to ``s`` gains ``service_weight x P(pipeline = s - 1)`` (the first-order gain in
availability of a Poisson pipeline with mean ``pipeline_mean``; a unit clearing a backorder,
``s <= 0``, gains the full ``service_weight``). With the stocking model's arrays this is its
marginal value of stock; without them the proxy is ``service_weight`` = forecast demand per year
and ``pipeline_mean`` = demand x buy lead time. Units are taken best ratio first while they fit
(a unit too dear for what is left is skipped, cheaper ones may still fit); every unit not taken is
on the cut list.

Excess & obsolete: after all orders, stock of an end-of-life part above its target, and stock of
any other part above target by more than ``excess_quarters`` quarters of forecast demand, limited
to the free units left on the shelf; valued at unit cost.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from optimizer.restock.inputs import RestockInputs

REPAIR_COLUMNS = ("part_id", "from_depot", "to_depot", "quantity", "expected_serviceable",
                  "repair_cost", "lead_time_days")
BUY_COLUMNS = ("part_id", "to_depot", "quantity", "unit_cost", "amount", "lead_time_days",
               "service_gain_per_year")
CUT_COLUMNS = ("part_id", "to_depot", "quantity", "unit_cost", "amount", "service_lost_per_year")
EXCESS_COLUMNS = ("part_id", "depot_id", "reason", "quantity", "unit_cost", "value",
                  "target", "position_after")


def plan_repairs(inp: RestockInputs, shortfall: np.ndarray) -> tuple[pd.DataFrame, np.ndarray,
                                                                     np.ndarray]:
    """Repair lines, the (P, L) position credit and the (P, L) defective units sent."""
    P, L = shortfall.shape
    credit = np.zeros((P, L), dtype=np.int64)
    sent = np.zeros((P, L), dtype=np.int64)
    defective = inp.positions.defective.copy()
    loop_days = (inp.repair_turnaround_days[:, None, None] + inp.transfer_days[None, :, 0, None]
                 + inp.transfer_days[None, 0, None, :])  # (P, from, to)
    rows: list[tuple] = []
    ok_part = inp.repairable & (inp.repair_yield > 0)
    for p in np.nonzero(ok_part & (shortfall.sum(axis=1) > 0) & (defective.sum(axis=1) > 0))[0]:
        y = float(inp.repair_yield[p])
        for j in np.nonzero(shortfall[p] > 0)[0]:
            need = int(math.ceil(shortfall[p, j] / y - 1e-9))
            order = [int(j)] + ([0] if j != 0 else []) + [k for k in range(L) if k not in (0, j)]
            takes: list[tuple[int, int]] = []
            taken = 0
            for i in order:
                if taken >= need:
                    break
                if defective[p, i] <= 0 or loop_days[p, i, j] > inp.horizon_days:
                    continue
                q = int(min(defective[p, i], need - taken))
                takes.append((i, q))
                taken += q
            got = min(int(shortfall[p, j]), int(math.floor(taken * y + 1e-9)))
            keep = int(math.ceil(got / y - 1e-9))  # send only units whose yield is credited
            for i, q in takes:
                q = min(q, keep)
                if q <= 0:
                    break
                keep -= q
                defective[p, i] -= q
                sent[p, i] += q
                rows.append((p, i, j, q, loop_days[p, i, j]))
            credit[p, j] = got
    if rows:
        p_, i_, j_, q_, d_ = (np.array(c) for c in zip(*rows, strict=True))
    else:
        p_ = i_ = j_ = q_ = np.zeros(0, dtype=np.int64)
        d_ = np.zeros(0)
    lines = pd.DataFrame({
        "part_id": np.asarray(inp.part_ids, dtype=object)[p_],
        "from_depot": np.asarray(inp.location_ids, dtype=object)[i_],
        "to_depot": np.asarray(inp.location_ids, dtype=object)[j_],
        "quantity": q_.astype(np.int64),
        "expected_serviceable": np.round(q_ * inp.repair_yield[p_], 3),
        "repair_cost": np.round(q_ * inp.repair_cost[p_], 2),
        "lead_time_days": d_.astype(float),
    }, columns=list(REPAIR_COLUMNS))
    return lines, credit, sent


def unit_values(inp: RestockInputs, level_before: np.ndarray, need: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every candidate buy unit: (part index, location index, service gain per year).

    The k-th unit (k = 1..need) at (p, j) lifts the level from ``level_before + k - 1``.
    """
    weight = inp.service_weight
    if weight is None:
        weight = inp.demand_per_quarter * 4.0
    mean = inp.pipeline_mean
    if mean is None:
        mean = inp.demand_per_quarter * 4.0 * inp.inbound_days / 365.0
    p, j = np.nonzero(need > 0)
    reps = need[p, j]
    pu = np.repeat(p, reps)
    ju = np.repeat(j, reps)
    k = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)  # 0-based unit index
    s_prev = level_before[pu, ju] + k  # level before this unit
    pmf = stats.poisson.pmf(np.maximum(s_prev, 0), np.maximum(mean[pu, ju], 1e-12))
    gain = weight[pu, ju] * np.where(s_prev < 0, 1.0, pmf)
    return pu, ju, gain


def plan_buys(inp: RestockInputs, level_before: np.ndarray, need: np.ndarray,
              budget: float | None) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Buy lines, cut lines (units the budget left out) and the (P, L) units bought."""
    if budget is not None and not (math.isfinite(budget) and budget >= 0):
        raise ValueError(f"budget must be a finite amount >= 0, got {budget}")
    pu, ju, gain = unit_values(inp, level_before, need)
    cost = inp.unit_cost[pu]
    take = np.ones(len(pu), dtype=bool)
    if budget is not None and cost.sum() > budget:
        order = np.lexsort((np.arange(len(pu)), -gain / cost))
        csum = np.cumsum(cost[order])
        take[:] = False
        first_miss = int(np.searchsorted(csum, budget + 1e-9, side="right"))
        take[order[:first_miss]] = True
        left = budget - (csum[first_miss - 1] if first_miss else 0.0)
        for u in order[first_miss:]:  # skip-fit: cheaper units may still fit
            if cost[u] <= left + 1e-9:
                take[u] = True
                left -= cost[u]
    P, L = need.shape
    bought = np.zeros((P, L), dtype=np.int64)
    np.add.at(bought, (pu[take], ju[take]), 1)
    cut = need - bought
    gain_b = np.zeros((P, L))
    np.add.at(gain_b, (pu[take], ju[take]), gain[take])
    gain_c = np.zeros((P, L))
    np.add.at(gain_c, (pu[~take], ju[~take]), gain[~take])
    return (_order_lines(inp, bought, gain_b, BUY_COLUMNS, "service_gain_per_year", True),
            _order_lines(inp, cut, gain_c, CUT_COLUMNS, "service_lost_per_year", False), bought)


def _order_lines(inp: RestockInputs, qty: np.ndarray, gain: np.ndarray, columns: tuple[str, ...],
                 gain_col: str, with_lead: bool) -> pd.DataFrame:
    p, j = np.nonzero(qty > 0)
    q = qty[p, j]
    data = {
        "part_id": np.asarray(inp.part_ids, dtype=object)[p],
        "to_depot": np.asarray(inp.location_ids, dtype=object)[j],
        "quantity": q.astype(np.int64),
        "unit_cost": inp.unit_cost[p],
        "amount": np.round(inp.unit_cost[p] * q, 2),
        gain_col: np.round(gain[p, j], 6),
    }
    if with_lead:
        data["lead_time_days"] = inp.inbound_days[p, j]
    return pd.DataFrame(data, columns=list(columns))


def excess_list(inp: RestockInputs, position_after: np.ndarray, shelf_after: np.ndarray,
                excess_quarters: float) -> pd.DataFrame:
    """Excess & obsolete lines (see the module docstring)."""
    if not excess_quarters >= 0:
        raise ValueError(f"excess_quarters must be >= 0, got {excess_quarters}")
    above = position_after - inp.target
    allowance = np.where(inp.end_of_life[:, None], 0.0, excess_quarters * inp.demand_per_quarter)
    units = np.minimum(np.floor(above - allowance + 1e-9), shelf_after).astype(np.int64)
    p, j = np.nonzero(units > 0)
    q = units[p, j]
    return pd.DataFrame({
        "part_id": np.asarray(inp.part_ids, dtype=object)[p],
        "depot_id": np.asarray(inp.location_ids, dtype=object)[j],
        "reason": np.where(inp.end_of_life[p], "end_of_life", "above_target").astype(object),
        "quantity": q,
        "unit_cost": inp.unit_cost[p],
        "value": np.round(inp.unit_cost[p] * q, 2),
        "target": inp.target[p, j],
        "position_after": position_after[p, j],
    }, columns=list(EXCESS_COLUMNS))
