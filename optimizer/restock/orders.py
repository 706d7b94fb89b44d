"""Repair orders for the shortfall left after transfers, and the excess & obsolete list.

Order of cost: transfers (:mod:`optimizer.restock.transfers`) first, then **repairs** of defective
units on hand, then **buys**.

Repairs: a repairable part whose repair loop (send to the HQ repair center, turnaround, ship to
the depot) fits in the horizon may cover a depot's remaining shortfall ``r`` by sending
``ceil(r / yield)`` defective units (the depot's own first, then the HQ's, then the other depots'
in location order). The position is credited with the expected serviceable units,
``floor(sent x yield)`` capped at ``r``, and only units whose yield is credited are sent
(``ceil(credit / yield)``); whatever is still short is bought.

Buys cover what is still short (:mod:`optimizer.restock.plan`, valued and capped by
:mod:`optimizer.restock.lines`).

Excess & obsolete: after all orders, stock of an end-of-life part above its target, and stock of
any other part above target by more than ``excess_quarters`` quarters of forecast demand, limited
to the free units left on the shelf; valued at unit cost.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimizer.restock.inputs import RestockInputs

REPAIR_COLUMNS = ("part_id", "from_depot", "to_depot", "quantity", "expected_serviceable",
                  "repair_cost", "lead_time_days")
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
