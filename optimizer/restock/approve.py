"""Approving a run: its orders as ledger movements, posted once per run id.

Movement kinds follow the stock ledger (``inventory/ledger.py``): a transfer is ``transfer_out`` at
the source and ``transfer_expected`` (in transit) at the destination, a repair order is
``send_to_repair`` (defective -> in repair) at the depot holding the unit, a buy is
``order_placed`` (in transit) at the receiving depot. Every movement carries the reference
``restock:<run id>:<line>``; a writer that already holds a reference skips it, so approving the
same run twice (or resuming after a failure) posts each movement exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from optimizer.restock.run import RestockResult


@dataclass(frozen=True)
class LedgerMovement:
    """One movement to post: ``quantity`` units of ``kind`` at a depot."""

    kind: str
    depot_id: str
    part_id: str
    quantity: int
    reference: str


class LedgerWriter(Protocol):
    """Where approved movements go (a database session adapter, or a list in tests)."""

    def has_reference(self, reference: str) -> bool: ...

    def post(self, movement: LedgerMovement) -> None: ...


@dataclass(frozen=True)
class ApprovalReport:
    run_id: str
    posted: int
    skipped: int


def movements(result: RestockResult) -> list[LedgerMovement]:
    """Every ledger movement of the run's orders, in order: transfers, repairs, buys, then the
    contractual buys (``order_placed``, references ``...:M<n>``)."""
    p = result.plan
    return order_movements(result.run_id, p.transfers, p.repairs, p.buys, p.contractual)


def order_movements(run_id: str, transfers: pd.DataFrame, repairs: pd.DataFrame,
                    buys: pd.DataFrame,
                    contractual: pd.DataFrame | None = None) -> list[LedgerMovement]:
    """The ledger movements of order tables (columns as in
    :class:`optimizer.restock.plan.RestockPlan`), in order:
    transfers (``from_depot``, ``to_depot``), repairs (``from_depot``), buys (``to_depot``),
    contractual buys (``to_depot``, references ``...:M<n>``)."""
    base = f"restock:{run_id}"
    out: list[LedgerMovement] = []
    for n, r in enumerate(transfers.itertuples(index=False)):
        ref = f"{base}:T{n}"
        out.append(LedgerMovement("transfer_out", r.from_depot, r.part_id, int(r.quantity), ref))
        out.append(LedgerMovement("transfer_expected", r.to_depot, r.part_id, int(r.quantity),
                                  ref + ":in"))
    for n, r in enumerate(repairs.itertuples(index=False)):
        out.append(LedgerMovement("send_to_repair", r.from_depot, r.part_id, int(r.quantity),
                                  f"{base}:R{n}"))
    for n, r in enumerate(buys.itertuples(index=False)):
        out.append(LedgerMovement("order_placed", r.to_depot, r.part_id, int(r.quantity),
                                  f"{base}:B{n}"))
    if contractual is not None:
        for n, r in enumerate(contractual.itertuples(index=False)):
            out.append(LedgerMovement("order_placed", r.to_depot, r.part_id, int(r.quantity),
                                      f"{base}:M{n}"))
    return out


def approve(result: RestockResult, writer: LedgerWriter) -> ApprovalReport:
    """Post the run's movements not yet in the ledger (idempotent by reference)."""
    return post_movements(result.run_id, movements(result), writer)


def post_movements(run_id: str, moves: list[LedgerMovement], writer: LedgerWriter
                   ) -> ApprovalReport:
    """Post ``moves`` whose reference the writer does not hold yet; count posted and skipped."""
    posted = skipped = 0
    for m in moves:
        if writer.has_reference(m.reference):
            skipped += 1
            continue
        writer.post(m)
        posted += 1
    return ApprovalReport(run_id, posted, skipped)
