"""Tuning knobs of the stocking solver (:func:`optimizer.stocking.solve`), one frozen value object.

The defaults are the settings the benchmarks in BENCHMARKS.md ("Stocking") were measured with;
a caller changes one with ``SolveParams(units_per_round=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SolveParams:
    """Column-generation settings.

    Attributes
    ----------
    units_per_round : locations a part may add a step at per pricing round on large instances
        (P x L above ``single_unit_pairs``). Coarse paths cost quality (on cn-telecom, 4 gave a
        plan 14.5 % dearer than 1, in half the time): units taken together at several locations
        overlap and a path never removes one.
    single_unit_pairs : up to this many (part, location) pairs every path adds one step a round.
    big_m : phase-1 penalty per class, ``big_m x sum(unit_cost) / D_c`` per unit of on-time
        demand short (a whole class share is worth ``big_m`` units of every part).
    max_phase1 : pricing rounds allowed to reach feasibility before giving up.
    rounds : pricing rounds after the pool meets the targets.
    neighbourhood : rounds of +-1-unit neighbour columns around the MIP's plan; None: 3 while
        P x L <= ``neighbourhood_pairs``, else 0 (at scale each round evaluates 2 L vectors per
        part for little gain).
    neighbourhood_pairs : see ``neighbourhood``.
    swap_limit : 1-for-1 moves between locations join the neighbourhood while P x L^2 <= this.
    chunk_pairs : the per-part work (pricing paths, column and plan evaluations) runs in chunks
        of about this many (part, location) pairs, each a task on a cluster; this bounds the
        memory of one task (and of the in-process run) whatever the problem size.
    min_chunks : below ``chunk_pairs`` the work is still cut into this many chunks (of at
        least ``min_chunk_parts`` parts), so every worker of a small cluster gets some: parts
        are independent, so the cut changes no path.
    min_chunk_parts : see ``min_chunks``.
    min_mip_s : seconds a master problem (LP or MIP) gets even when the ``MaxRuntime`` is used
        up, so a run ends within about this much (plus the final plan evaluation) of its limit.
        A MIP stopped before its first plan of its own keeps the plan rounded from the pool LP
        (:mod:`optimizer.stocking.incumbent`); with location caps, where there is none, the path
        levels come back (flagged when short).
    """

    units_per_round: int = 4
    single_unit_pairs: int = 20_000
    big_m: float = 1e3
    max_phase1: int = 8
    rounds: int = 1
    neighbourhood: int | None = None
    neighbourhood_pairs: int = 5_000
    swap_limit: int = 20_000
    chunk_pairs: int = 100_000
    min_chunks: int = 4
    min_chunk_parts: int = 32
    min_mip_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("units_per_round", "chunk_pairs", "min_chunks", "min_chunk_parts"):
            if getattr(self, name) < 1:
                raise ValueError(f"SolveParams.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("single_unit_pairs", "max_phase1", "rounds", "neighbourhood_pairs",
                     "swap_limit"):
            if getattr(self, name) < 0:
                raise ValueError(f"SolveParams.{name} must be >= 0, got {getattr(self, name)}")
        if self.neighbourhood is not None and self.neighbourhood < 0:
            raise ValueError(f"SolveParams.neighbourhood must be >= 0, got {self.neighbourhood}")
        if not self.big_m > 0 or not self.min_mip_s > 0:
            raise ValueError("SolveParams.big_m and min_mip_s must be > 0")

    def per_round(self, pairs: int) -> int:
        """Steps a pricing path takes per round for a problem of ``pairs`` (part, location) pairs."""
        return 1 if pairs <= self.single_unit_pairs else self.units_per_round

    def neighbourhood_rounds(self, pairs: int) -> int:
        """Neighbourhood rounds for a problem of ``pairs`` pairs."""
        if self.neighbourhood is not None:
            return self.neighbourhood
        return 3 if pairs <= self.neighbourhood_pairs else 0

    def chunk_parts(self, n_locations: int, n_parts: int) -> int:
        """Parts per chunk of the per-part work on ``n_parts`` parts x ``n_locations``."""
        by_size = max(1, self.chunk_pairs // max(n_locations, 1))
        spread = max(-(-n_parts // self.min_chunks), self.min_chunk_parts)
        return max(1, min(by_size, spread))
