"""Orders (``dispatch_orders``): list them, and complete them through the ledger.

Dispatches open orders (below); so does the approval of a quarterly restock run
(:func:`api.restock.service.approve_run`): one order per transfer, repair and buy line it
booked, already ``sent`` (the approval booked the units in transit / in repair under the
references ``restock:<plan_ref>:<line>``); their ``received`` and ``scrapped`` events book as
below.

What a dispatch books when it opens an order (:mod:`api.dispatches.service`):

- a replenishment order (``transfer`` from the source depot's parent, or ``buy`` at the HQ),
  written at create: nothing in the ledger, the row only;
- a ``repair`` or ``scrap`` order, written at ``defective_received``: the failed unit is
  booked ``defective_in`` at the source depot (the order's ``from_id``); the order's
  ``depot_id`` is the HQ, where the repair loop returns it.

So an order's events book its units' whole path, every movement with reference
``order:<id>`` and the caller's key as actor (per unit):

=========  ==================================================================================
event      movements
=========  ==================================================================================
sent       transfer: ``transfer_out`` at the parent, ``transfer_expected`` at the depot;
           buy: ``order_placed`` at the depot; repair: ``send_to_repair`` at ``from_id``
received   transfer: ``transfer_in``; buy: ``order_received``; repair: ``repair_out`` at
           ``from_id`` and ``repair_in`` at the depot (``repair_return`` when they are equal).
           From ``open`` the ``sent`` movements are booked first, in the same transaction
scrapped   repair or scrap order, with the reason: from ``open`` ``scrapped`` at ``from_id`` (the
           defective unit is written off unrepaired); from ``sent`` ``condemned`` (repair failed)
cancelled  nothing (only an ``open`` order: units already sent complete as received or scrapped;
           a cancelled repair order leaves its unit in the defective bucket)
=========  ==================================================================================

A status moves once (a conditional update): a second completion is a 409, and so is a step the
balances do not allow (nothing is written then). Units landing on hand fill waiting backorders in
the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from api import idempotency
from api.context import AppContext
from api.orders.models import (
    OrderEventCreate,
    OrderEventKind,
    OrderEventOut,
    OrderKind,
    OrderOrigin,
    OrderStatus,
)
from api.pipeline.service import (
    LANDING_KINDS,
    SCRAP_KINDS,
    Move,
    check_known,
    fill_landed,
    post_moves,
    return_moves,
    scrap_moves,
    stock_of,
)
from api.problems import Problem, field_problem
from api.restock.service import line_reference
from inventory.db.dispatch_models import DispatchOrder, as_utc
from inventory.db.models import StockMovement
from inventory.db.restock_models import RestockRun

_O: Table = DispatchOrder.__table__  # type: ignore[assignment]
_MOV: Table = StockMovement.__table__  # type: ignore[assignment]
_RUN: Table = RestockRun.__table__  # type: ignore[assignment]

_S = OrderStatus
TRANSITIONS: dict[tuple[OrderKind, OrderEventKind], tuple[frozenset[OrderStatus], OrderStatus]] = {
    **{(k, OrderEventKind.SENT): (frozenset({_S.OPEN}), _S.SENT)
       for k in (OrderKind.TRANSFER, OrderKind.BUY, OrderKind.REPAIR)},
    **{(k, OrderEventKind.RECEIVED): (frozenset({_S.OPEN, _S.SENT}), _S.RECEIVED)
       for k in (OrderKind.TRANSFER, OrderKind.BUY, OrderKind.REPAIR)},
    (OrderKind.REPAIR, OrderEventKind.SCRAPPED): (frozenset({_S.OPEN, _S.SENT}), _S.SCRAPPED),
    (OrderKind.SCRAP, OrderEventKind.SCRAPPED): (frozenset({_S.OPEN}), _S.SCRAPPED),
    **{(k, OrderEventKind.CANCELLED): (frozenset({_S.OPEN}), _S.CANCELLED) for k in OrderKind},
}
"""(order kind, event) -> (statuses it may follow, status it leads to); anything else is a 409."""


def reference(order_id: int) -> str:
    """The ledger reference of an order's movements."""
    return f"order:{order_id}"


def send_moves(o: Any) -> list[Move]:
    """The movements that send an order's units on their way (see the module table)."""
    ref = reference(o.id)
    if o.kind == OrderKind.TRANSFER:
        return [Move("transfer_out", o.from_id, o.part_id, o.quantity, ref),
                Move("transfer_expected", o.depot_id, o.part_id, o.quantity, ref)]
    if o.kind == OrderKind.BUY:
        return [Move("order_placed", o.depot_id, o.part_id, o.quantity, ref)]
    return [Move("send_to_repair", o.from_id, o.part_id, o.quantity, ref)]


def event_moves(o: Any, current: OrderStatus, event: OrderEventKind, *, to_depot_id: str | None,
                reason: str | None) -> list[Move]:
    """Every movement ``event`` books on an order in status ``current``."""
    if event is OrderEventKind.CANCELLED:
        return []
    if event is OrderEventKind.SENT:
        return send_moves(o)
    ref = reference(o.id)
    if event is OrderEventKind.SCRAPPED:  # open: still defective at the sender; sent: in repair
        return scrap_moves(o.from_id, o.part_id, o.quantity, ref, reason or "",
                           from_defective=current is OrderStatus.OPEN)
    before = send_moves(o) if current is OrderStatus.OPEN else []
    if o.kind == OrderKind.TRANSFER:
        return before + [Move("transfer_in", o.depot_id, o.part_id, o.quantity, ref, reason)]
    if o.kind == OrderKind.BUY:
        return before + [Move("order_received", o.depot_id, o.part_id, o.quantity, ref, reason)]
    return before + return_moves(o.from_id, to_depot_id or o.depot_id, o.part_id, o.quantity,
                                 ref, reason)


def _movements(session: Session, rows: list[Any]) -> dict[int, list[dict[str, Any]]]:
    """Ledger movements of the orders, by order id, in the order they were written: those
    with reference ``order:<id>``, and for a restock order first the approval's
    (``restock:<plan_ref>:<line>``, a transfer's arrival side with ``:in``)."""
    out: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
    if not rows:
        return out
    by_ref = {reference(r.id): r.id for r in rows}
    runs = {r.restock_run_id for r in rows if r.restock_run_id is not None}
    if runs:
        plan_refs = dict(session.execute(select(_RUN.c.id, _RUN.c.plan_ref)
                                         .where(_RUN.c.id.in_(runs))).all())
        for r in rows:
            if r.restock_run_id is not None:
                ref = line_reference(plan_refs.get(r.restock_run_id) or r.restock_run_id,
                                     r.restock_line)
                by_ref[ref] = by_ref[ref + ":in"] = r.id
    rows = session.execute(select(_MOV).where(_MOV.c.reference.in_(list(by_ref)))
                           .order_by(_MOV.c.id))
    for r in rows:
        out[by_ref[r.reference]].append({
            "id": r.id, "at": as_utc(r.at), "depot_id": r.depot_id, "part_id": r.part_id,
            "kind": r.kind, "quantity": r.quantity, "reference": r.reference,
            "reason": r.reason, "actor": r.actor})
    return out


def _views(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    moves = _movements(session, rows)
    return [{"id": r.id, "origin": OrderOrigin.DISPATCH if r.dispatch_id else OrderOrigin.RESTOCK,
             "dispatch_id": r.dispatch_id, "restock_run_id": r.restock_run_id,
             "restock_line": r.restock_line, "kind": r.kind, "status": r.status,
             "depot_id": r.depot_id, "from_id": r.from_id, "part_id": r.part_id,
             "quantity": r.quantity, "value": r.value, "expected_at": as_utc(r.expected_at),
             "created_at": as_utc(r.created_at), "movements": moves[r.id]} for r in rows]


def list_orders(ctx: AppContext, *, kind: OrderKind | None = None,
                status: OrderStatus | None = None, depot_id: str | None = None,
                from_id: str | None = None, part_id: str | None = None,
                dispatch_id: str | None = None, restock_run_id: str | None = None,
                origin: OrderOrigin | None = None, limit: int = 100,
                after: int | None = None) -> list[dict[str, Any]]:
    """Orders matching every filter given, oldest first (by id); ``after``: only those with a
    larger id (keyset pagination)."""
    q = select(_O)
    if after is not None:
        q = q.where(_O.c.id > after)
    for col, value in (("kind", kind), ("status", status), ("depot_id", depot_id),
                       ("from_id", from_id), ("part_id", part_id), ("dispatch_id", dispatch_id),
                       ("restock_run_id", restock_run_id)):
        if value is not None:
            q = q.where(_O.c[col] == str(value))
    if origin is OrderOrigin.DISPATCH:
        q = q.where(_O.c.dispatch_id.is_not(None))
    elif origin is OrderOrigin.RESTOCK:
        q = q.where(_O.c.restock_run_id.is_not(None))
    q = q.order_by(_O.c.id).limit(limit)
    with ctx.sessions() as session:
        return _views(session, list(session.execute(q)))


def _load(session: Session, order_id: int) -> Any:
    row = session.execute(select(_O).where(_O.c.id == order_id)).first()
    if row is None:
        raise Problem(404, "order-not-found", "Order not found", f"no dispatch order {order_id}",
                      errors=[{"field": "path.order_id", "message": "unknown order id"}])
    return row


def get_order(ctx: AppContext, order_id: int) -> dict[str, Any]:
    with ctx.sessions() as session:
        return _views(session, [_load(session, order_id)])[0]


def _check_body(ctx: AppContext, body: OrderEventCreate) -> None:
    """422 for what the body alone gets wrong."""
    if body.kind is OrderEventKind.SCRAPPED and not (body.reason and body.reason.strip()):
        raise field_problem(422, "body.reason", "a scrap needs a reason")
    if body.depot_id is not None:
        if body.kind is not OrderEventKind.RECEIVED:
            raise field_problem(422, "body.depot_id", "only a received event takes a depot")
        check_known(ctx, "body", depot_id=body.depot_id)


def _transition(row: Any, event: OrderEventKind) -> OrderStatus:
    """The status after ``event``, or a 409 naming the event when it is not allowed."""
    rule = TRANSITIONS.get((OrderKind(row.kind), event)) if row.kind in set(OrderKind) else None
    if rule is None or row.status not in rule[0]:
        raise Problem(409, "illegal-order-transition", "Illegal order transition",
                      f"a {row.kind} order in status {row.status!r} cannot take event "
                      f"{event.value!r}", errors=[{"field": "body.kind",
                                                   "message": f"not allowed from {row.status}"}])
    return rule[1]


def _check_not_booked_elsewhere(session: Session, row: Any) -> None:
    """409 when ``/v1/pipeline`` already booked units of a restock order under its line's
    reference (what is left is booked there, not here)."""
    plan_ref = session.scalar(select(_RUN.c.plan_ref).where(_RUN.c.id == row.restock_run_id))
    ref = line_reference(plan_ref or row.restock_run_id, row.restock_line)
    done = session.execute(select(_MOV.c.kind, _MOV.c.quantity).where(
        _MOV.c.reference == ref, _MOV.c.kind.in_(sorted(LANDING_KINDS | SCRAP_KINDS)))).all()
    if done:
        booked = ", ".join(f"{k} {q}" for k, q in done)
        raise Problem(409, "booked-through-pipeline", "Order booked through the pipeline",
                      f"units of this restock order were booked through /v1/pipeline under "
                      f"reference {ref!r} ({booked}); book the rest there",
                      errors=[{"field": "path.order_id", "message": "booked elsewhere"}])


EVENT_OPERATION = "POST /v1/orders/{order_id}/events"


def record_event(ctx: AppContext, order_id: int, body: OrderEventCreate, *, actor: str,
                 owner: str, created_by: str,
                 idempotency_key: str | None = None) -> tuple[dict[str, Any], bool]:
    """Book one step of an order (see the module table) and move its status, atomically.
    Returns the answer and whether it is a replay: with ``idempotency_key`` (per ``owner``
    organization) the first answer is stored with the booking and a retry gets it back
    (:mod:`api.idempotency`)."""
    _check_body(ctx, body)
    at = body.at or ctx.now()
    digest = idempotency.request_hash(order_id, body.model_dump(mode="json"))
    with ctx.sessions(write=True, exclusive=True) as session:  # landed units fill backorders
        if idempotency_key is not None:
            found = idempotency.find(session, owner=owner, operation=EVENT_OPERATION,
                                     key=idempotency_key, digest=digest)
            if found is not None:
                return found.response, True
        row = _load(session, order_id)
        target = _transition(row, body.kind)
        if row.restock_run_id is not None:
            _check_not_booked_elsewhere(session, row)
        if at < as_utc(row.created_at):  # type: ignore[operator]
            raise field_problem(422, "body.at", "is before the order was opened "
                                                f"({as_utc(row.created_at).isoformat()})")
        if body.depot_id is not None and row.kind != OrderKind.REPAIR:
            raise field_problem(422, "body.depot_id", f"a {row.kind} order lands at its own depot")
        moves = event_moves(row, OrderStatus(row.status), body.kind, to_depot_id=body.depot_id,
                            reason=body.reason)
        won = session.execute(update(_O).where(_O.c.id == row.id, _O.c.status == row.status)
                              .values(status=target.value)).rowcount
        if won != 1:
            raise Problem(409, "concurrent-order-change", "Concurrent order change",
                          "the order changed status meanwhile; read it and retry")
        post_moves(session, moves, actor=actor, at=at)
        filled = fill_landed(ctx, session, moves)
        view = _views(session, [_load(session, order_id)])[0]
        out = {**view, "stock": stock_of(session, moves), "filled_dispatch_ids": filled}
        if idempotency_key is not None:
            idempotency.store(session, owner=owner, operation=EVENT_OPERATION,
                              key=idempotency_key, digest=digest, status_code=200,
                              response=OrderEventOut.model_validate(out).model_dump(mode="json"),
                              created_by=created_by, now=ctx.now())
        return out, False

