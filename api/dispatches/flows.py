"""Backorders filled when stock comes free, and the explicit re-decision.

A dispatch answered ``backordered`` waits for stock. Whenever units land on hand at a depot (a
receipt, a positive adjustment, an arrival, a repair return, a cancelled dispatch's release) the
slice that booked them calls :func:`on_units_landed` in the transaction of that change (opened
with ``ctx.sessions(write=True, exclusive=True)``): the backorders of the landed part, or of a
part it may replace, are taken in deadline order (earliest ``due_at`` first, no part deadline
last, then reported first) and decided again (:func:`optimizer.dispatch.redecide`) on the free
stock as it is now, with the part deadline of their first decision (the ``due_at`` column) and
ready from now. A decision that finds a source is reserved with the ledger's guarded reserve and
moves the dispatch to ``reserved``, with a ``backorder_filled`` event and a ``dispatch.reserved``
webhook message; the receipt and the reservations it allows commit together, so a concurrent
create cannot take the freed units first and nothing is reserved twice.

The new decision is stored in ``dispatches.redecision`` (GET shows it); the create answer in
``dispatches.decision`` stays what a replay of the Idempotency-Key returns. The backorder's own
replenishment order (the HQ's buy) stays the dispatch's order: one demand, one order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from api import idempotency
from api.context import AppContext
from api.dispatches import render, service
from api.problems import Problem
from api.webhooks.service import enqueue
from inventory import ledger
from inventory.db.dispatch_models import Dispatch, DispatchEvent, as_utc
from optimizer.dispatch import DispatchRequest
from optimizer.dispatch import redecide as decide_again
from optimizer.dispatch.lifecycle import Status
from optimizer.dispatch.policy import redecision_ready

FILLED_EVENT = "backorder_filled"
"""Kind of the dispatch event recorded when a backorder is reserved."""

MAX_RESERVE_ATTEMPTS = 3
"""Decide-and-reserve tries per backorder when a concurrent transaction took the chosen units
(PostgreSQL; SQLite writers are serialised)."""

_D: Table = Dispatch.__table__  # type: ignore[assignment]
_E: Table = DispatchEvent.__table__  # type: ignore[assignment]
_FIRST_READY = _D.c.decision["ready_at"].as_string()
"""The ready time of the create decision, read from the stored answer by the database."""


def parts_served_by(ctx: AppContext, part_ids: Iterable[str]) -> list[str]:
    """Requested parts whose candidates (the part or an allowed substitute) include one of
    ``part_ids``, in scenario order."""
    freed = set(part_ids)
    sc = ctx.scenario
    return [p.part_id for p in sc.parts
            if p.part_id in freed or freed.intersection(sc.substitutes_for(p.part_id))]


def on_units_landed(ctx: AppContext, db_session: Session, part_ids: Iterable[str], *,
                    only: str | None = None) -> list[str]:
    """Units of ``part_ids`` came free in ``db_session`` (a write transaction opened with
    ``exclusive=True``): reserve the backorders the free stock can now serve, earliest deadline
    first; returns the filled dispatch ids. The one entry point of the slices that book stock.

    ``only`` stops the fill after that dispatch: backorders ahead of it in deadline order are
    served first (an explicit re-decision cannot jump the queue), those behind it keep waiting.
    """
    if not db_session.info.get("exclusive"):
        raise RuntimeError("on_units_landed needs a transaction opened with "
                           "ctx.sessions(write=True, exclusive=True)")
    freed = list(dict.fromkeys(part_ids))
    wanted = parts_served_by(ctx, freed)
    if not wanted or not _any_free(db_session, freed):
        return []
    rows = db_session.execute(
        select(_D.c.id, _D.c.ticket_id, _D.c.owner, _D.c.site_id, _D.c.part_id, _D.c.severity,
               _D.c.quantity, _D.c.reported_at, _D.c.due_at, _FIRST_READY.label("first_ready"))
        .where(_D.c.status == Status.BACKORDERED.value, _D.c.part_id.in_(wanted))
        .order_by(_D.c.due_at.is_(None), _D.c.due_at, _D.c.reported_at, _D.c.id)).all()
    filled: list[str] = []
    for row in rows:
        parts = service.candidate_parts(ctx, row.part_id)
        for _ in range(MAX_RESERVE_ATTEMPTS):
            free = ledger.free_stock(session=db_session, part_ids=parts)
            if max(free.values(), default=0) < row.quantity:
                break  # nothing can ship the whole quantity: it keeps waiting
            outcome = _fill_one(ctx, db_session, row, free)
            if outcome is not None:
                if outcome:
                    filled.append(row.id)
                break
        if only is not None and row.id == only:
            break
        if filled and filled[-1] == row.id and not _any_free(db_session, freed):
            break  # the freed units are all taken: the rest keep waiting
    return filled


def redecide(ctx: AppContext, dispatch_id: str, *, db_session: Session,
             tenant: str | None = None) -> dict[str, Any]:
    """Decide a backordered dispatch again on the free stock now (the fill that a receipt,
    adjustment or cancel runs by itself), in ``db_session`` (write, exclusive); backorders
    with an earlier deadline for the same units go first. Still no stock: it stays
    backordered. Any other status is a 409; with ``tenant`` a dispatch of another organization
    is a 404."""
    row = service.load(db_session, dispatch_id, tenant)
    if row.status != Status.BACKORDERED.value:
        raise Problem(409, "not-backordered", "Not a backorder",
                      f"dispatch {dispatch_id!r} is {row.status!r}; only a backordered "
                      "dispatch is decided again",
                      errors=[{"field": "path.dispatch_id",
                               "message": f"status is {row.status}"}])
    on_units_landed(ctx, db_session, service.candidate_parts(ctx, row.part_id), only=row.id)
    db_session.refresh(row)
    return service.answers(ctx, db_session, [row])[0]


REDECIDE_OPERATION = "POST /v1/dispatches/{dispatch_id}/redecide"


def redecide_once(ctx: AppContext, dispatch_id: str, *, db_session: Session,
                  tenant: str | None, owner: str, created_by: str,
                  idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """:func:`redecide` with an optional Idempotency-Key (per ``owner`` organization), as the
    other booking POSTs: returns the answer and whether it is a replay. The first answer is
    stored in the re-decision's transaction; a retry with the key for the same dispatch gets it
    back and decides nothing (also after the dispatch moved on); the key with another dispatch
    is a 422 naming the header. A refusal (not a backorder, unknown dispatch) stores nothing."""
    if idempotency_key is None:
        return redecide(ctx, dispatch_id, db_session=db_session, tenant=tenant), False
    digest = idempotency.request_hash(dispatch_id)
    found = idempotency.find(db_session, owner=owner, operation=REDECIDE_OPERATION,
                             key=idempotency_key, digest=digest)
    if found is not None:
        return found.response, True
    view = redecide(ctx, dispatch_id, db_session=db_session, tenant=tenant)
    idempotency.store(db_session, owner=owner, operation=REDECIDE_OPERATION,
                      key=idempotency_key, digest=digest, status_code=200, response=view,
                      created_by=created_by, now=ctx.now())
    return view, False


def _any_free(db_session: Session, part_ids: list[str]) -> bool:
    return any(n > 0 for n in ledger.free_stock(session=db_session, part_ids=part_ids).values())


def _fill_one(ctx: AppContext, db_session: Session, row: Any,
              free: dict[tuple[str, str], int]) -> bool | None:
    """Decide and reserve one backorder: True when reserved, False when it stays backordered
    (no source, or another transaction moved it), None when the units went meanwhile (retry)."""
    now = ctx.now()
    reported = as_utc(row.reported_at)
    assert reported is not None
    first = datetime.fromisoformat(row.first_ready) if row.first_ready else None
    ready = redecision_ready(now, reported, first)
    req = DispatchRequest(row.site_id, row.part_id, row.severity, reported, row.quantity)
    dec = decide_again(req, due_at=as_utc(row.due_at), ready_at=ready, scenario=ctx.scenario,
                       network=ctx.network, free_stock=free, levels=ctx.levels)
    ch = dec.chosen
    if ch is None:
        return False
    # claim the row first: of two transactions filling the same backorder only one moves it
    claimed = db_session.execute(update(_D).where(_D.c.id == row.id,
                                                  _D.c.status == Status.BACKORDERED.value)
                                 .values(status=Status.RESERVED.value, updated_at=now)).rowcount
    if claimed != 1:
        return False
    if not ledger.reserve(session=db_session, depot_id=ch.depot_id, part_id=ch.part_id,
                          quantity=row.quantity, reference=row.id, at=now):
        db_session.execute(update(_D).where(_D.c.id == row.id)
                           .values(status=Status.BACKORDERED.value))
        return None
    db_session.execute(update(_D).where(_D.c.id == row.id).values(
        shipped_part_id=ch.part_id, source_depot_id=ch.depot_id, mode_id=ch.mode_id,
        eta=ch.arrives_at, margin_hours=ch.margin_hours, cost=ch.cost, on_time=dec.on_time,
        reserved=True, redecision=render.redecision_answer(dec, ready, now)))
    note = (f"reserved {row.quantity} x {ch.part_id} at {ch.depot_id}, {ch.mode_id}, "
            f"ETA {render.iso(ch.arrives_at)}" + ("" if dec.on_time else " (late)"))
    db_session.execute(_E.insert().values(dispatch_id=row.id, kind=FILLED_EVENT, at=now,
                                          note=note, recorded_at=now))
    enqueue(session=db_session, owner=row.owner, event_type=f"dispatch.{Status.RESERVED.value}",
            data=render.event_data(row.id, row.ticket_id, Status.RESERVED.value, FILLED_EVENT,
                                   now, depot_id=ch.depot_id, mode_id=ch.mode_id,
                                   eta=ch.arrives_at, due_at=as_utc(row.due_at),
                                   on_time=dec.on_time),
            subscribers=service.subscribers(ctx, db_session, row.owner), now=now)
    return True
