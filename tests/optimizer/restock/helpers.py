"""Small restock inputs built from plain arrays for the tests."""

from __future__ import annotations

import numpy as np

from optimizer.restock.inputs import RestockInputs
from optimizer.restock.positions import Positions


def make_inputs(target, on_hand, *, defective=None, in_transit=None, backorders=None,
                reserved=None, unit_cost=None, yield_=0.8, turnaround=10.0, eol=None,
                transfer_days=2.0, transfer_cost=10.0, inbound=40.0, demand=None, horizon=90.0,
                service_weight=None, pipeline_mean=None, repairable=True) -> RestockInputs:
    target = np.asarray(target, dtype=np.int64)
    P, L = target.shape
    z = np.zeros((P, L), dtype=np.int64)

    def arr(a):
        return z.copy() if a is None else np.asarray(a, dtype=np.int64)

    pos = Positions(tuple(f"P{i}" for i in range(P)), ("HQ",) + tuple(f"D{j}" for j in range(1, L)),
                    on_hand=arr(on_hand), in_transit=arr(in_transit), repair_due=z.copy(),
                    defective=arr(defective), backorders=arr(backorders), reserved=arr(reserved))
    days = np.full((L, L), float(transfer_days)) if np.isscalar(transfer_days) else np.asarray(
        transfer_days, dtype=float)
    np.fill_diagonal(days, 0.0)
    cost = np.full((1, L, L), float(transfer_cost))
    uc = np.full(P, 100.0) if unit_cost is None else np.asarray(unit_cost, dtype=float)
    return RestockInputs(
        part_ids=pos.part_ids, location_ids=pos.location_ids, target=target, positions=pos,
        unit_cost=uc, repairable=np.full(P, repairable), end_of_life=np.zeros(P, bool)
        if eol is None else np.asarray(eol, bool), repair_yield=np.full(P, yield_),
        repair_turnaround_days=np.full(P, turnaround), repair_cost=0.25 * uc,
        inbound_days=np.full((P, L), inbound), transfer_days=days, transfer_cost=cost,
        part_size=np.zeros(P, dtype=np.int64),
        demand_per_quarter=np.ones((P, L)) if demand is None else np.asarray(demand, float),
        horizon_days=horizon,
        service_weight=None if service_weight is None else np.asarray(service_weight, float),
        pipeline_mean=None if pipeline_mean is None else np.asarray(pipeline_mean, float))


class TableModel:
    """An :class:`optimizer.restock.value.OrderModel` where every unit at (part, location) adds
    ``unit_gain[part, location]`` on-time requests a year, whatever else is stocked."""

    classes = ("all",)

    def __init__(self, unit_gain) -> None:
        self.unit_gain = np.asarray(unit_gain, dtype=float)

    def gains(self, levels, parts, deltas):
        return (np.asarray(deltas) * self.unit_gain[np.asarray(parts)]).sum(axis=1)[:, None]

    def top_up(self, levels, min_gain):
        return np.zeros(np.shape(levels), dtype=np.int64)
