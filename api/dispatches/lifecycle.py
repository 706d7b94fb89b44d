"""Lifecycle events of a dispatch, applied to the stored dispatch: the state machine and the SLA
outcome (rules in :mod:`optimizer.dispatch.lifecycle`), the stock each event moves, the repair or
scrap order of a returned unit (:func:`optimizer.dispatch.policy.returned_unit_order`) and the
webhook message, in the caller's write transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from api import idempotency
from api.context import AppContext
from api.dispatches import flows, render, service
from api.problems import Problem, field_problem
from api.webhooks.service import enqueue
from inventory import ledger
from inventory.db.dispatch_models import Dispatch, DispatchEvent, DispatchOrder, as_utc
from optimizer.dispatch.lifecycle import EventKind, Status, next_status, sla_outcome
from optimizer.dispatch.policy import returned_unit_order

_O: Table = DispatchOrder.__table__  # type: ignore[assignment]
_E: Table = DispatchEvent.__table__  # type: ignore[assignment]


def frees_stock(kind: EventKind) -> bool:
    """Whether ``kind`` may release reserved units (open its transaction with
    ``exclusive=True``: the release fills waiting backorders)."""
    return kind is EventKind.CANCELLED


def record_event(ctx: AppContext, dispatch_id: str, kind: EventKind, at: datetime,
                 note: str | None = None, *, db_session: Session,
                 tenant: str | None = None) -> dict[str, Any]:
    """Apply one lifecycle event in ``db_session`` (a write transaction, ``exclusive`` when
    :func:`frees_stock`): guard the transition, move stock, fix the SLA outcome. With
    ``tenant`` a dispatch of another organization is a 404.

    Sending the dispatch's last event again (same kind and instant) changes nothing and answers
    the dispatch as it is, so a ticket system may retry an event after a timeout.
    """
    at = at.astimezone(UTC)
    row = service.load(db_session, dispatch_id, tenant)
    last = db_session.execute(select(_E.c.kind, _E.c.at).where(_E.c.dispatch_id == row.id)
                              .order_by(_E.c.id.desc()).limit(1)).first()
    if last is not None and last.kind == kind.value and as_utc(last.at) == at:
        # a ticket system retrying the event it already sent: nothing happens twice
        return service.answers(ctx, db_session, [row])[0]
    current = Status(row.status)
    target = next_status(current, kind)
    if target is None:
        raise Problem(409, "illegal-transition", "Illegal status transition",
                      f"a dispatch in status {current.value!r} cannot take event {kind.value!r}",
                      errors=[{"field": "body.kind",
                               "message": f"not allowed from {current.value}"}])
    _check_event_time(row, at, None if last is None else as_utc(last.at))
    now = ctx.now()
    # guard against a concurrent event: only one UPDATE from `current` can win
    won = db_session.execute(update(Dispatch).where(Dispatch.id == row.id,
                                                    Dispatch.status == current.value)
                             .values(status=target.value, updated_at=now)).rowcount
    if won != 1:
        raise Problem(409, "concurrent-transition", "Concurrent status change",
                      "the dispatch changed status meanwhile; read it and retry")
    db_session.refresh(row)
    extra: dict[str, Any] = {}
    released = kind is EventKind.CANCELLED and row.reserved
    _apply_stock(db_session, row, kind, now)
    if kind is EventKind.CANCELLED:
        extra = {"cancelled_order_ids": _cancel_open_refills(db_session, row)}
    elif kind is EventKind.DELIVERED:
        sla = sla_outcome(as_utc(row.due_at), at)
        row.delivered_at, row.sla_outcome, row.sla_delta_hours = at, sla.outcome, sla.delta_hours
        extra = {"sla_outcome": sla.outcome, "sla_delta_hours": sla.delta_hours}
    elif kind is EventKind.DEFECTIVE_RECEIVED:
        extra = {"repair_order": _open_repair(ctx, db_session, row, at, now)}
    db_session.add(DispatchEvent(dispatch_id=row.id, kind=kind.value, at=at, note=note,
                                 recorded_at=now))
    enqueue(session=db_session, owner=row.owner, event_type=f"dispatch.{target.value}",
            data=render.event_data(row.id, row.ticket_id, target.value, kind.value, at,
                                   depot_id=row.source_depot_id, mode_id=row.mode_id,
                                   eta=as_utc(row.eta), due_at=as_utc(row.due_at), **extra),
            subscribers=service.subscribers(ctx, db_session, row.owner), now=now)
    db_session.flush()
    if released:  # the released units may fill a waiting backorder, in this transaction
        flows.on_units_landed(ctx, db_session, [row.shipped_part_id])
    return service.answers(ctx, db_session, [row])[0]


EVENT_OPERATION = "POST /v1/dispatches/{dispatch_id}/events"


def record_event_once(ctx: AppContext, dispatch_id: str, kind: EventKind, at: datetime,
                      note: str | None = None, *, db_session: Session, tenant: str | None,
                      owner: str, created_by: str,
                      idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """:func:`record_event` with an optional Idempotency-Key (per ``owner`` organization).
    Returns the answer and whether it is a replay: the first answer is stored in the event's
    transaction, and a retry with the key (same dispatch, kind, instant and note) gets it back
    and books nothing; the key with another request is a 422 naming the header. A refused
    event stores nothing."""
    if idempotency_key is None:
        return record_event(ctx, dispatch_id, kind, at, note, db_session=db_session,
                            tenant=tenant), False
    digest = idempotency.request_hash(dispatch_id, kind.value, at.astimezone(UTC), note)
    found = idempotency.find(db_session, owner=owner, operation=EVENT_OPERATION,
                             key=idempotency_key, digest=digest)
    if found is not None:
        return found.response, True
    view = record_event(ctx, dispatch_id, kind, at, note, db_session=db_session, tenant=tenant)
    idempotency.store(db_session, owner=owner, operation=EVENT_OPERATION, key=idempotency_key,
                      digest=digest, status_code=200, response=view, created_by=created_by,
                      now=ctx.now())
    return view, False


def _check_event_time(row: Dispatch, at: datetime, previous: datetime | None) -> None:
    """An event cannot happen before the ticket was reported nor before the previous event."""
    reported = as_utc(row.reported_at)
    if at < reported:  # type: ignore[operator]
        raise field_problem(422, "body.at", f"{render.iso(at)} is before the ticket was "
                                            f"reported ({render.iso(reported)})", "event-time")
    if previous is not None and at < previous:
        raise field_problem(422, "body.at", f"{render.iso(at)} is before the previous event "
                                            f"({render.iso(previous)})", "event-time")


def _apply_stock(db_session: Session, row: Dispatch, kind: EventKind, now: datetime) -> None:
    """The ledger movement an event implies (cancel releases, ship issues, defective comes in)."""
    args = {"session": db_session, "depot_id": row.source_depot_id,
            "part_id": row.shipped_part_id, "quantity": row.quantity, "reference": row.id,
            "at": now}
    if kind is EventKind.CANCELLED and row.reserved:
        ledger.release(**args)
        row.reserved = False
    elif kind is EventKind.SHIPPED:
        ledger.issue(**args)
        row.reserved = False
    elif kind is EventKind.DEFECTIVE_RECEIVED and row.source_depot_id is not None:
        ledger.defective_in(**{**args, "part_id": row.part_id})


def _cancel_open_refills(db_session: Session, row: Dispatch) -> list[int]:
    """Close the cancelled dispatch's replenishment orders (transfer, buy) that nothing was
    booked for yet: they existed only to refill what this dispatch took. Orders already sent
    stay as they are (their units are on the way and land as stock)."""
    ids = [int(i) for i in db_session.scalars(
        select(_O.c.id).where(_O.c.dispatch_id == row.id, _O.c.status == "open",
                              _O.c.kind.in_(("transfer", "buy"))))]
    if ids:
        db_session.execute(update(_O).where(_O.c.id.in_(ids), _O.c.status == "open")
                           .values(status="cancelled"))
    return ids


def _open_repair(ctx: AppContext, db_session: Session, row: Dispatch, at: datetime,
                 now: datetime) -> dict[str, Any]:
    """The order for the returned unit (repair toward the HQ, or scrap), from the depot it came
    back to (the source, else the site's primary depot)."""
    sc = ctx.scenario
    depot = row.source_depot_id or sc.site(row.site_id).primary_depot_id
    ret = returned_unit_order(sc.part(row.part_id), hq_depot_id=sc.hq.depot_id,
                              from_depot_id=depot, returned_at=at)
    db_session.add(DispatchOrder(dispatch_id=row.id, kind=ret.kind, depot_id=ret.depot_id,
                                 part_id=row.part_id, quantity=row.quantity, from_id=ret.from_id,
                                 expected_at=ret.expected_at, created_at=now))
    return {"kind": ret.kind, "depot_id": ret.depot_id, "part_id": row.part_id,
            "quantity": row.quantity, "from_id": ret.from_id,
            "expected_at": render.iso(ret.expected_at), "lead_time_days": ret.lead_time_days}
