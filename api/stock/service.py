"""Stock reads and changes through the ledger (:mod:`inventory.ledger`).

The API never touches the balance tables directly: every change is one ledger movement, written
in the caller's transaction. :func:`balance_rows` turns ledger balances (records, mappings or a
DataFrame) into plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from inventory import ledger

LedgerError = ledger.LedgerError
"""What the ledger raises for an impossible movement (a ValueError)."""

BUCKETS = ("on_hand", "reserved", "in_transit", "defective", "in_repair")


def balance_rows(raw: Any) -> list[dict[str, Any]]:
    """Ledger balances as dicts with depot_id, part_id, the buckets and ``available``."""
    if hasattr(raw, "to_dict"):
        records: Iterable[Any] = raw.to_dict("records")
    else:
        records = raw
    out = []
    for r in records:
        get = r.get if isinstance(r, dict) else (lambda k, _r=r: getattr(_r, k, 0))
        row = {"depot_id": get("depot_id"), "part_id": get("part_id")}
        for b in BUCKETS:
            row[b] = int(get(b) or 0)
        row["available"] = row["on_hand"] - row["reserved"]
        out.append(row)
    return out


def stock_rows(*, session: Session, depot_id: str | None = None,
               part_id: str | None = None) -> list[dict[str, Any]]:
    """Balances filtered by depot and/or part, sorted by depot then part."""
    rows = balance_rows(ledger.balances(session=session, depot_id=depot_id, part_id=part_id))
    return sorted(rows, key=lambda r: (r["depot_id"], r["part_id"]))






def receive(*, session: Session, depot_id: str, part_id: str, quantity: int, reference: str,
            at: datetime, actor: str | None = None) -> None:
    """Serviceable units arrive on hand (one ``receipt`` movement)."""
    ledger.receive(session=session, depot_id=depot_id, part_id=part_id, quantity=quantity,
                   reference=reference, at=at, actor=actor)


def adjust(*, session: Session, depot_id: str, part_id: str, quantity: int, reason: str,
           reference: str, at: datetime, actor: str | None = None) -> None:
    """Add (quantity > 0) or remove (< 0) on-hand units with a reason (one ``adjustment``)."""
    ledger.adjust(session=session, depot_id=depot_id, part_id=part_id, quantity=quantity,
                  reason=reason, reference=reference, at=at, actor=actor)


def booked(*, session: Session, kind: str, reference: str) -> ledger.Movement | None:
    """The movement of ``kind`` already booked under ``reference``, if any (receipts and
    adjustments with a reference are booked once)."""
    return next((m for m in ledger.movements(session=session, reference=reference)
                 if m.kind == kind), None)
