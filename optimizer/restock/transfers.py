"""Transfers of excess stock to shortfalls as one min-cost flow (OR-Tools) over all parts.

Per part, a location's *excess* is the part of its inventory position above target that is on
the shelf and free (``min(position - target, on hand - reserved)``, at least 0), its *shortfall*
``max(target - position, 0)``. Arcs go from every excess location to every shortfall location of
the same part whose transfer lead time fits (``<= min(horizon, the buy lead time there)``) and whose
transport cost is below the part's unit cost. A shared BUY node feeds every shortfall at the unit
cost and a shared KEEP node absorbs unused excess at no cost, so the flow moves as many units as
pay off, on the cheapest lanes. Costs are integer cents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ortools.graph.python import min_cost_flow

from optimizer.restock.inputs import RestockInputs

TRANSFER_COLUMNS = ("part_id", "from_depot", "to_depot", "quantity", "unit_transport_cost",
                    "transport_cost", "lead_time_days")


def excess_and_shortfall(inp: RestockInputs) -> tuple[np.ndarray, np.ndarray]:
    """(P, L) shippable excess and shortfall in units (see the module docstring)."""
    ip = inp.positions.inventory_position
    excess = np.clip(np.minimum(ip - inp.target, inp.positions.free_on_hand), 0, None)
    shortfall = np.clip(inp.target - ip, 0, None)
    return excess.astype(np.int64), shortfall.astype(np.int64)


def plan_transfers(inp: RestockInputs) -> tuple[pd.DataFrame, np.ndarray]:
    """Transfer lines and the (P, L, L) flow array ``flow[p, i, j]`` (units from i to j)."""
    excess, short = excess_and_shortfall(inp)
    P, L = excess.shape
    flow = np.zeros((P, L, L), dtype=np.int64)
    parts = np.nonzero((excess.sum(axis=1) > 0) & (short.sum(axis=1) > 0))[0]
    tails, heads, caps, costs, keys = [], [], [], [], []
    node_of: dict[tuple[int, int, int], int] = {}

    def node(kind: int, p: int, j: int) -> int:
        return node_of.setdefault((kind, p, j), len(node_of) + 2)  # 0 = BUY, 1 = KEEP

    BUY, KEEP = 0, 1
    supplies: dict[int, int] = {}
    for p in parts:
        src = np.nonzero(excess[p] > 0)[0]
        dst = np.nonzero(short[p] > 0)[0]
        ii, jj = np.meshgrid(src, dst, indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        days = inp.transfer_days[ii, jj]
        cost = inp.transfer_cost[inp.part_size[p], ii, jj]
        ok = ((ii != jj) & (days <= np.minimum(inp.horizon_days, inp.inbound_days[p, jj]))
              & (cost < inp.unit_cost[p]))
        if not ok.any():
            continue
        for i in src:
            n = node(0, p, i)
            supplies[n] = int(excess[p, i])
            tails.append(n), heads.append(KEEP), caps.append(int(excess[p, i])), costs.append(0)
            keys.append(None)
        m = int(round(inp.unit_cost[p] * 100))
        for j in dst:
            n = node(1, p, j)
            supplies[n] = -int(short[p, j])
            tails.append(BUY), heads.append(n), caps.append(int(short[p, j])), costs.append(m)
            keys.append(None)
        for i, j, c in zip(ii[ok], jj[ok], cost[ok], strict=True):
            tails.append(node(0, p, i)), heads.append(node(1, p, j))
            caps.append(int(min(excess[p, i], short[p, j])))
            costs.append(int(round(c * 100)))
            keys.append((int(p), int(i), int(j)))
    if keys:
        total_short = -sum(v for v in supplies.values() if v < 0)
        total_excess = sum(v for v in supplies.values() if v > 0)
        supplies[BUY] = total_short
        supplies[KEEP] = -total_excess
        tails.append(BUY), heads.append(KEEP), caps.append(total_short), costs.append(0)
        keys.append(None)
        smcf = min_cost_flow.SimpleMinCostFlow()
        arcs = smcf.add_arcs_with_capacity_and_unit_cost(
            np.array(tails), np.array(heads), np.array(caps), np.array(costs))
        smcf.set_nodes_supplies(np.array(list(supplies)), np.array(list(supplies.values())))
        status = smcf.solve()
        if status != smcf.OPTIMAL:
            raise RuntimeError(f"transfer min-cost flow failed with status {status}")
        flows = smcf.flows(arcs)
        for k, f in zip(keys, flows, strict=True):
            if k is not None and f > 0:
                flow[k] += int(f)
    return transfer_lines(inp, flow), flow


def transfer_lines(inp: RestockInputs, flow: np.ndarray) -> pd.DataFrame:
    """One row per (part, from, to) with a positive flow."""
    p, i, j = np.nonzero(flow)
    q = flow[p, i, j]
    unit = inp.transfer_cost[inp.part_size[p], i, j] if len(p) else np.zeros(0)
    return pd.DataFrame({
        "part_id": np.asarray(inp.part_ids, dtype=object)[p],
        "from_depot": np.asarray(inp.location_ids, dtype=object)[i],
        "to_depot": np.asarray(inp.location_ids, dtype=object)[j],
        "quantity": q.astype(np.int64),
        "unit_transport_cost": np.round(unit, 2),
        "transport_cost": np.round(unit * q, 2),
        "lead_time_days": inp.transfer_days[i, j] if len(p) else np.zeros(0),
    }, columns=list(TRANSFER_COLUMNS))
