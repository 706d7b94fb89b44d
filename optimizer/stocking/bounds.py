"""Planner limits on base-stock levels: a minimum and/or maximum per part and location.

:class:`LevelBounds` is the plain input the stocking solver takes (``solve(..., bounds=...)``):
the marginal-analysis paths start at the minimum and never step above the maximum, the
neighbourhood keeps to the box, so every column the master chooses from, and therefore the
plan, lies within ``lower <= S <= upper``. Without limits a pair's bounds are 0 and
:data:`NO_MAX`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

NO_MAX = np.iinfo(np.int64).max // 4
"""Upper bound of a pair without a maximum (any reachable level stays below it)."""


@dataclass(frozen=True, eq=False)
class LevelBounds:
    """``lower`` and ``upper`` (P, L) int: the levels a plan may hold, in the problem's order."""

    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self) -> None:
        if self.lower.shape != self.upper.shape or self.lower.ndim != 2:
            raise ValueError("lower and upper must both be (P, L)")
        if np.any(self.lower < 0) or np.any(self.lower > self.upper):
            raise ValueError("bounds need 0 <= lower <= upper")

    @classmethod
    def from_limits(cls, part_ids: Sequence[str], location_ids: Sequence[str],
                    limits: Mapping[tuple[str, str], tuple[int | None, int | None]]
                    ) -> LevelBounds:
        """From ``{(part_id, location_id): (min or None, max or None)}``; ValueError naming a
        part or location the problem does not have, or a min above its max."""
        pix = {str(p): i for i, p in enumerate(part_ids)}
        lix = {str(d): j for j, d in enumerate(location_ids)}
        lower = np.zeros((len(pix), len(lix)), dtype=np.int64)
        upper = np.full((len(pix), len(lix)), NO_MAX, dtype=np.int64)
        for (part, loc), (lo, hi) in limits.items():
            if part not in pix:
                raise ValueError(f"stock limit for unknown part {part!r}")
            if loc not in lix:
                raise ValueError(f"stock limit for part {part!r} at unknown location {loc!r}")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"stock limit {part}@{loc}: minimum {lo} above maximum {hi}")
            if lo is not None:
                lower[pix[part], lix[loc]] = lo
            if hi is not None:
                upper[pix[part], lix[loc]] = hi
        return cls(lower, upper)

    def start(self, S: np.ndarray) -> np.ndarray:
        """``S`` raised to the minimums."""
        return np.maximum(S, self.lower)

    def allows(self, parts: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """(M,) bool: vector ``vectors[i]`` of part ``parts[i]`` lies within the bounds."""
        parts = np.asarray(parts, dtype=np.int64)
        return (np.all(vectors >= self.lower[parts], axis=1)
                & np.all(vectors <= self.upper[parts], axis=1))

    def holds(self, S: np.ndarray) -> bool:
        """Whether the levels ``S`` (P, L) lie within the bounds."""
        return bool(np.all(self.lower <= S) and np.all(self.upper >= S))
