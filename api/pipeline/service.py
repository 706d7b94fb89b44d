"""Booking stock out of the pipeline buckets through the ledger (:mod:`inventory.ledger`).

A booking is one or two ledger movements (:class:`Move`) written in one write transaction with
the caller's key as actor:

============================  ===================================================================
booking                       movements (per unit: bucket changes)
============================  ===================================================================
transfer arrival              ``transfer_in`` at the destination (in_transit -1, on_hand +1)
buy receipt                   ``order_received`` at the depot (in_transit -1, on_hand +1)
repair send                   ``send_to_repair`` (defective -1, in_repair +1)
repair return, to the sender  ``repair_return`` (in_repair -1, on_hand +1)
repair return, elsewhere      ``repair_out`` at the sender (in_repair -1), ``repair_in`` there
                              (on_hand +1)
scrap from in_repair          ``condemned`` (in_repair -1), with the reason
scrap from defective          ``scrapped`` (defective -1), with the reason
============================  ===================================================================

Nothing here creates or destroys stock except a scrap, which must say why. A movement the
balances do not allow (more than is in transit, in repair or defective) is refused by the
ledger's guarded update and the whole transaction rolls back. The ledger keeps one in-transit
bucket for transfers and buys alike, so an arrival or a receipt is also checked against what
the movements of its own kind left open (a buy receipt cannot consume a transfer's units).

Units that land on hand fill waiting backorders of the part in the same transaction
(:func:`api.dispatches.flows.on_units_landed`), as a stock receipt does. Every booking
transaction is opened ``exclusive`` (PostgreSQL: one at a time; SQLite: one writer anyway),
which also makes the reference check below race free.

A booking under a restock order's line reference (``restock:<plan_ref>:<line>``, see
``/v1/orders``) that moves all the order's units closes the order (received or scrapped); once
the order was completed through ``/v1/orders`` such a booking is a 409.

Idempotency: the (movement kind, reference) pairs a booking writes identify it. When the
ledger already holds movements of those pairs, a request whose movements are equal (kind,
depot, part, quantity, reason) is a replay and answers them as they were (200, nothing new);
any other body is a 409.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from api.context import AppContext
from api.dispatches.flows import on_units_landed
from api.problems import Problem, field_problem
from api.restock.service import close_restock_order, restock_order_for
from api.stock import service as stock
from inventory import ledger
from inventory.db.models import StockMovement

_MOV: Table = StockMovement.__table__  # type: ignore[assignment]

LANDING_KINDS = frozenset({"transfer_in", "order_received", "repair_return", "repair_in"})
"""Movement kinds that put serviceable units on hand (they may fill backorders)."""
SCRAP_KINDS = frozenset({"condemned", "scrapped"})

OPENED_BY = {"transfer_in": ("transfer_expected", "transfer"),
             "order_received": ("order_placed", "supplier buy")}
"""Closing kind -> (kind that opened the in-transit units, what it is called)."""


class Booking(StrEnum):
    TRANSFER_ARRIVAL = "transfer_arrival"
    ORDER_RECEIPT = "order_receipt"
    REPAIR_SEND = "repair_send"
    REPAIR_RETURN = "repair_return"
    SCRAP = "scrap"


FAMILY: dict[Booking, tuple[tuple[str, str], ...]] = {
    Booking.TRANSFER_ARRIVAL: (("transfer_in", ""),),
    Booking.ORDER_RECEIPT: (("order_received", ""),),
    Booking.REPAIR_SEND: (("send_to_repair", ""),),
    Booking.REPAIR_RETURN: (("repair_return", ""), ("repair_out", ""), ("repair_in", "")),
    Booking.SCRAP: (("condemned", ""), ("scrapped", "")),
}
"""(movement kind, reference suffix) pairs a booking of each kind may write: a reference that
already has movements of one of them was booked before (whatever the details)."""


@dataclass(frozen=True)
class Move:
    """One ledger movement to post: ``quantity`` pieces of ``kind`` at a depot."""

    kind: str
    depot_id: str
    part_id: str
    quantity: int
    reference: str
    reason: str | None = None

    def key(self) -> tuple[str, str, str, str, int, str | None]:
        """What a replay must repeat exactly."""
        return (self.kind, self.reference, self.depot_id, self.part_id, self.quantity,
                self.reason or None)


@dataclass
class Booked:
    """What a booking wrote (or found, on a replay), the stock after it, the backorders filled."""

    moves: list[ledger.Movement]
    stock: list[dict[str, Any]]
    filled: list[str] = field(default_factory=list)
    replayed: bool = False


def actor_of(name: str, key_id: str) -> str:
    """The ledger actor of an API key (as the stock endpoints write it)."""
    return f"{name} ({key_id})"


def check_known(ctx: AppContext, where: str, **ids: str | None) -> None:
    """422 naming the field when a part (``part_id``) or a depot (any other name) is unknown."""
    index = ctx.scenario._index
    for name, value in ids.items():
        if value is None:
            continue
        table = "parts" if name == "part_id" else "depots"
        if value not in index[table]:
            raise field_problem(422, f"{where}.{name}",
                                f"unknown {'part' if table == 'parts' else 'depot'} {value!r}")


def plan(booking: Booking, body: Any) -> list[Move]:
    """The movements of a booking request (a :mod:`api.pipeline.models` body)."""
    common = {"depot_id": body.depot_id, "part_id": body.part_id, "quantity": body.quantity,
              "reference": body.reference, "reason": body.reason}
    if booking is Booking.TRANSFER_ARRIVAL:
        return [Move("transfer_in", **common)]
    if booking is Booking.ORDER_RECEIPT:
        return [Move("order_received", **common)]
    if booking is Booking.REPAIR_SEND:
        return [Move("send_to_repair", **common)]
    if booking is Booking.REPAIR_RETURN:
        return return_moves(body.depot_id, body.to_depot_id, body.part_id, body.quantity,
                            body.reference, body.reason)
    return scrap_moves(body.depot_id, body.part_id, body.quantity, body.reference, body.reason,
                       from_defective=body.bucket == "defective")


def return_moves(depot_id: str, to_depot_id: str | None, part_id: str, quantity: int,
                 reference: str, reason: str | None) -> list[Move]:
    """Repaired units sent by ``depot_id`` back on hand at ``to_depot_id`` (default the sender),
    as :func:`inventory.ledger.repair_return` books them."""
    if to_depot_id is None or to_depot_id == depot_id:
        return [Move("repair_return", depot_id, part_id, quantity, reference, reason)]
    return [Move("repair_out", depot_id, part_id, quantity, reference, reason),
            Move("repair_in", to_depot_id, part_id, quantity, reference, reason)]


def scrap_moves(depot_id: str, part_id: str, quantity: int, reference: str, reason: str,
                *, from_defective: bool) -> list[Move]:
    """Write units off with a reason: ``condemned`` from in_repair (the repair failed),
    ``scrapped`` from defective (never sent to repair)."""
    kind = "scrapped" if from_defective else "condemned"
    return [Move(kind, depot_id, part_id, quantity, reference, reason)]


def book(ctx: AppContext, booking: Booking, moves: list[Move], *, reference: str, actor: str,
         at: datetime | None) -> Booked:
    """Post ``moves`` (the :func:`plan` of ``booking`` for ``reference``) in one write
    transaction, or replay the booking of ``reference``.

    Raises a 409 :class:`Problem` when the reference was booked with another body or when the
    balances do not allow a movement (nothing is written then).
    """
    with ctx.sessions(write=True, exclusive=True) as session:
        found = stored(session, [(kind, reference + suffix) for kind, suffix in FAMILY[booking]])
        if found:
            if sorted(_key(m) for m in found) != sorted(m.key() for m in moves):
                raise _reference_reused(reference, found)
            return Booked(found, stock_of(session, moves), replayed=True)
        order = restock_order_for(session, reference)
        if order is not None and order.status != "sent":
            raise Problem(409, "order-closed", "Order already completed",
                          f"reference {reference!r} is restock order {order.id}'s, which is "
                          f"{order.status} (booked through /v1/orders/{order.id}/events); "
                          "nothing was booked", errors=[{"field": "body.reference",
                                                         "message": f"order {order.status}"}])
        posted = post_moves(session, moves, actor=actor, at=at or ctx.now())
        if order is not None:
            close_restock_order(session, order,
                                landed=sum(m.quantity for m in moves if m.kind in LANDING_KINDS),
                                scrapped=sum(m.quantity for m in moves if m.kind in SCRAP_KINDS))
        filled = fill_landed(ctx, session, moves)
        return Booked(posted, stock_of(session, moves), filled)


def stored(session: Session, pairs: Iterable[tuple[str, str]]) -> list[ledger.Movement]:
    """Movements already in the ledger with one of the (kind, reference) ``pairs``."""
    pairs = set(pairs)
    found: list[ledger.Movement] = []
    for ref in sorted({r for _, r in pairs}):
        found += [m for m in ledger.movements(session=session, reference=ref)
                  if (m.kind, ref) in pairs]
    return sorted(found, key=lambda m: m.id)


def _key(m: ledger.Movement) -> tuple[str, str, str, str, int, str | None]:
    return (m.kind, m.reference or "", m.depot_id, m.part_id, m.quantity, m.reason or None)


def _reference_reused(reference: str, found: list[ledger.Movement]) -> Problem:
    booked = "; ".join(f"{m.kind} {m.quantity} x {m.part_id} at {m.depot_id}" for m in found)
    return Problem(409, "reference-reused", "Reference already booked",
                   f"reference {reference!r} was already booked differently ({booked}); "
                   "nothing was booked now. Send the same body to read it back, or use a new "
                   "reference", errors=[{"field": "body.reference",
                                         "message": "already booked with another body"}])


def check_open_in_transit(session: Session, m: Move) -> None:
    """409 when an arrival or receipt takes more than the in-transit units its own kind opened."""
    if m.kind not in OPENED_BY:
        return
    opened, what = OPENED_BY[m.kind]
    sums = dict(session.execute(
        select(_MOV.c.kind, func.sum(_MOV.c.quantity))
        .where(_MOV.c.depot_id == m.depot_id, _MOV.c.part_id == m.part_id,
               _MOV.c.kind.in_((opened, m.kind)))
        .group_by(_MOV.c.kind)).all())
    open_units = int(sums.get(opened) or 0) - int(sums.get(m.kind) or 0)
    if m.quantity > open_units:
        bal = ledger.balance(session=session, depot_id=m.depot_id, part_id=m.part_id)
        raise _refused(f"{m.kind} of {m.part_id!r} at depot {m.depot_id!r}: only {open_units} "
                       f"unit(s) are in transit there on {what}s ({bal.in_transit} in transit "
                       f"in all); {m.quantity} cannot arrive")


def _refused(message: str) -> Problem:
    return Problem(409, "ledger-refused", "Stock movement refused", message,
                   errors=[{"field": "body.quantity", "message": message}])


def post_moves(session: Session, moves: Iterable[Move], *, actor: str,
               at: datetime) -> list[ledger.Movement]:
    """Post each move through :func:`inventory.ledger.post`, an arrival or receipt after
    :func:`check_open_in_transit`; a refusal is a 409 problem."""
    out = []
    for m in moves:
        check_open_in_transit(session, m)
        try:
            out.append(ledger.post(session=session, kind=m.kind, depot_id=m.depot_id,
                                   part_id=m.part_id, quantity=m.quantity, reference=m.reference,
                                   reason=m.reason, actor=actor, at=at))
        except ledger.LedgerError as exc:
            raise _refused(str(exc)) from exc
    return out


def fill_landed(ctx: AppContext, session: Session, moves: Iterable[Move]) -> list[str]:
    """Fill backorders of the parts that ``moves`` put on hand; the filled dispatch ids."""
    parts = [m.part_id for m in moves if m.kind in LANDING_KINDS]
    return on_units_landed(ctx, session, parts) if parts else []


def stock_of(session: Session, moves: Iterable[Move]) -> list[dict[str, Any]]:
    """Balances of the (depot, part) pairs that ``moves`` touch, sorted."""
    pairs = sorted({(m.depot_id, m.part_id) for m in moves})
    return stock.balance_rows(ledger.balance(session=session, depot_id=d, part_id=p)
                              for d, p in pairs)


def movement_out(m: ledger.Movement) -> dict[str, Any]:
    """A ledger movement in the shape of :class:`api.pipeline.models.MovementOut`."""
    return {"id": m.id, "at": m.at, "depot_id": m.depot_id, "part_id": m.part_id,
            "kind": m.kind, "quantity": m.quantity, "reference": m.reference,
            "reason": m.reason, "actor": m.actor}
