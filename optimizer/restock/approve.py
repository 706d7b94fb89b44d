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
    """Every ledger movement of the run's orders, in order: transfers, repairs, buys."""
    base = f"restock:{result.run_id}"
    out: list[LedgerMovement] = []
    for n, r in enumerate(result.plan.transfers.itertuples(index=False)):
        ref = f"{base}:T{n}"
        out.append(LedgerMovement("transfer_out", r.from_depot, r.part_id, int(r.quantity), ref))
        out.append(LedgerMovement("transfer_expected", r.to_depot, r.part_id, int(r.quantity),
                                  ref + ":in"))
    for n, r in enumerate(result.plan.repairs.itertuples(index=False)):
        out.append(LedgerMovement("send_to_repair", r.from_depot, r.part_id, int(r.quantity),
                                  f"{base}:R{n}"))
    for n, r in enumerate(result.plan.buys.itertuples(index=False)):
        out.append(LedgerMovement("order_placed", r.to_depot, r.part_id, int(r.quantity),
                                  f"{base}:B{n}"))
    return out


def approve(result: RestockResult, writer: LedgerWriter) -> ApprovalReport:
    """Post the run's movements not yet in the ledger (idempotent by reference)."""
    posted = skipped = 0
    for m in movements(result):
        if writer.has_reference(m.reference):
            skipped += 1
            continue
        writer.post(m)
        posted += 1
    return ApprovalReport(result.run_id, posted, skipped)
