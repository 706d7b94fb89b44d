"""Everything the restock planner reads, as plain arrays aligned on (part, location)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.restock.positions import Positions


@dataclass(frozen=True, eq=False)
class RestockInputs:
    """Targets, positions, lead times and prices of one restocking run.

    Shapes: P parts, L locations (index 0 = HQ, the repair center and buyer), Z size classes.

    Attributes
    ----------
    target : (P, L) int, new base-stock levels S.
    positions : current stock (:class:`Positions`, same part and location order).
    unit_cost : (P,) currency per unit (buy price, and the value of stock).
    repairable, end_of_life : (P,) bool.
    repair_yield : (P,) share of repaired units that come back serviceable.
    repair_turnaround_days : (P,) days in the repair loop.
    repair_cost : (P,) currency per unit sent to repair.
    inbound_days : (P, L) lead time of a buy delivered to each location (supplier lead time plus
        the transit down the tree), days.
    transfer_days : (L, L) lead time of a transfer between locations, days.
    transfer_cost : (Z, L, L) cost of moving one unit of size class z between locations.
    part_size : (P,) int size class index into ``transfer_cost``.
    demand_per_quarter : (P, L) forecast demand units per quarter at each location.
    horizon_days : float, the planning window: a transfer or repair must arrive inside it.
    service_weight : (P, L) on-time demand per year gained per unit of availability (from the
        stocking model) or None for the proxy (demand per year).
    pipeline_mean : (P, L) mean units in resupply at the target (stocking model) or None for the
        proxy (demand rate x ``inbound_days``).
    """

    part_ids: tuple[str, ...]
    location_ids: tuple[str, ...]
    target: np.ndarray
    positions: Positions
    unit_cost: np.ndarray
    repairable: np.ndarray
    end_of_life: np.ndarray
    repair_yield: np.ndarray
    repair_turnaround_days: np.ndarray
    repair_cost: np.ndarray
    inbound_days: np.ndarray
    transfer_days: np.ndarray
    transfer_cost: np.ndarray
    part_size: np.ndarray
    demand_per_quarter: np.ndarray
    horizon_days: float
    service_weight: np.ndarray | None = None
    pipeline_mean: np.ndarray | None = None

    def __post_init__(self) -> None:
        P, L = len(self.part_ids), len(self.location_ids)
        if (tuple(self.positions.part_ids), tuple(self.positions.location_ids)) != (
                tuple(self.part_ids), tuple(self.location_ids)):
            raise ValueError("positions must use the same part and location order as the inputs")
        checks = {"target": (P, L), "unit_cost": (P,), "repairable": (P,), "end_of_life": (P,),
                  "repair_yield": (P,), "repair_turnaround_days": (P,), "repair_cost": (P,),
                  "inbound_days": (P, L), "transfer_days": (L, L), "part_size": (P,),
                  "demand_per_quarter": (P, L)}
        for name, shape in checks.items():
            a = np.asarray(getattr(self, name))
            if a.shape != shape:
                raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
        if self.transfer_cost.ndim != 3 or self.transfer_cost.shape[1:] != (L, L):
            raise ValueError(f"transfer_cost must be (Z, {L}, {L}), got {self.transfer_cost.shape}")
        if P and (self.part_size.min() < 0 or self.part_size.max() >= self.transfer_cost.shape[0]):
            raise ValueError("part_size indexes outside transfer_cost")
        if np.any(self.target < 0):
            raise ValueError("target levels must be >= 0")
        if np.any(~(self.unit_cost > 0)):
            raise ValueError("unit_cost must be > 0")
        if np.any((self.repair_yield < 0) | (self.repair_yield > 1)):
            raise ValueError("repair_yield must lie in [0, 1]")
        if not self.horizon_days > 0:
            raise ValueError(f"horizon_days must be > 0, got {self.horizon_days}")
        for name in ("service_weight", "pipeline_mean"):
            a = getattr(self, name)
            if a is not None and a.shape != (P, L):
                raise ValueError(f"{name} has shape {a.shape}, expected {(P, L)}")
