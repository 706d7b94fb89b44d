"""Stock positions per (part, location) as plain arrays, and the inventory position."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

BUCKETS = ("on_hand", "in_transit", "repair_due", "defective", "backorders", "reserved")


@dataclass(frozen=True)
class PositionRow:
    """The stock of one part at one depot, in whole units.

    ``repair_due`` counts the units in repair that come back within the planning horizon;
    ``defective`` the failed units on hand that could be sent to repair.
    """

    depot_id: str
    part_id: str
    on_hand: int = 0
    in_transit: int = 0
    repair_due: int = 0
    defective: int = 0
    backorders: int = 0
    reserved: int = 0


@dataclass(frozen=True, eq=False)
class Positions:
    """(P, L) integer arrays of every bucket, rows = ``part_ids``, columns = ``location_ids``."""

    part_ids: tuple[str, ...]
    location_ids: tuple[str, ...]
    on_hand: np.ndarray
    in_transit: np.ndarray
    repair_due: np.ndarray
    defective: np.ndarray
    backorders: np.ndarray
    reserved: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.part_ids), len(self.location_ids))
        for name in BUCKETS:
            a = getattr(self, name)
            if a.shape != shape:
                raise ValueError(f"positions.{name} has shape {a.shape}, expected {shape}")
            if np.any(a < 0):
                raise ValueError(f"positions.{name} has negative entries")
        if np.any(self.reserved > self.on_hand):
            raise ValueError("positions: reserved exceeds on hand somewhere")

    @property
    def inventory_position(self) -> np.ndarray:
        """on hand + in transit + repair due - backorders - reserved, (P, L)."""
        return (self.on_hand + self.in_transit + self.repair_due - self.backorders
                - self.reserved)

    @property
    def free_on_hand(self) -> np.ndarray:
        """Serviceable units on the shelf and not reserved: what a transfer may ship."""
        return self.on_hand - self.reserved

    @classmethod
    def from_rows(cls, part_ids: Sequence[str], location_ids: Sequence[str],
                  rows: Iterable[PositionRow]) -> Positions:
        """Build arrays from rows; unknown depot or part ids raise ValueError naming the row."""
        pix = {p: i for i, p in enumerate(part_ids)}
        lix = {d: j for j, d in enumerate(location_ids)}
        arrays = {b: np.zeros((len(pix), len(lix)), dtype=np.int64) for b in BUCKETS}
        for n, r in enumerate(rows):
            if r.part_id not in pix:
                raise ValueError(f"position row {n}: unknown part {r.part_id!r}")
            if r.depot_id not in lix:
                raise ValueError(f"position row {n}: unknown depot {r.depot_id!r}")
            for b in BUCKETS:
                v = getattr(r, b)
                if not isinstance(v, (int, np.integer)) or v < 0:
                    raise ValueError(f"position row {n} ({r.depot_id}/{r.part_id}): field {b!r} "
                                     f"must be a whole number >= 0, got {v!r}")
                arrays[b][pix[r.part_id], lix[r.depot_id]] += int(v)
        return cls(tuple(part_ids), tuple(location_ids), **arrays)

    def reindexed(self, part_ids: Sequence[str], location_ids: Sequence[str]) -> Positions:
        """The positions on other parts and locations (a what-if network): rows and columns
        kept where both have them, 0 for new ones; those of dropped parts or locations are left
        out (:meth:`dropped_units` counts their units on hand)."""
        pix = {p: i for i, p in enumerate(self.part_ids)}
        lix = {d: j for j, d in enumerate(self.location_ids)}
        rows = np.array([pix.get(p, -1) for p in part_ids], dtype=np.int64)
        cols = np.array([lix.get(d, -1) for d in location_ids], dtype=np.int64)
        ri, ci = np.nonzero(rows >= 0)[0], np.nonzero(cols >= 0)[0]
        arrays = {}
        for b in BUCKETS:
            a = np.zeros((len(rows), len(cols)), dtype=np.int64)
            a[np.ix_(ri, ci)] = getattr(self, b)[np.ix_(rows[ri], cols[ci])]
            arrays[b] = a
        return Positions(tuple(part_ids), tuple(location_ids), **arrays)

    def dropped_units(self, part_ids: Sequence[str], location_ids: Sequence[str]) -> int:
        """Units on hand at the parts and locations :meth:`reindexed` leaves out."""
        keep_p = np.isin(np.asarray(self.part_ids, dtype=object), list(part_ids))
        keep_l = np.isin(np.asarray(self.location_ids, dtype=object), list(location_ids))
        return int(self.on_hand.sum() - self.on_hand[np.ix_(keep_p, keep_l)].sum())
