"""Filling backorders when stock comes free.

A dispatch answered ``backordered`` waits for stock. Whenever units come free at a depot (a
receipt, a positive adjustment, a cancelled dispatch's release) :func:`fill_backorders` runs in
the transaction of that change: the backorders of the freed part, or of a part it may replace,
are taken in deadline order (earliest ``due_at`` first, no part deadline last, then reported
first) and decided again with the normal engine (:func:`optimizer.dispatch.decide`) on the free
stock as it is now, the deadline unchanged and the order ready from now. A decision that finds a
source is reserved with the ledger's guarded reserve and moves the dispatch to ``reserved``, with
a ``backorder_filled`` event and a ``dispatch.reserved`` webhook message; the receipt and the
reservations it allows commit together, so a concurrent create cannot take the freed units first
and nothing is reserved twice.

The new decision is stored in ``dispatches.redecision`` (GET shows it); the create answer in
``dispatches.decision`` stays what a replay of the Idempotency-Key returns. The backorder's own
replenishment order (the HQ's buy) stays the dispatch's order: one demand, one order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, select, text, update
from sqlalchemy.orm import Session

from api.context import AppContext
from api.dispatches.enums import Status
from api.dispatches.service import (
    _event_data,
    _r3,
    _subscribers,
    iso,
    option_out,
)
from api.stock import service as stock
from api.webhooks.service import enqueue
from inventory.db.dispatch_models import Dispatch, DispatchEvent, as_utc
from optimizer.deadlines import Deadline
from optimizer.dispatch import DispatchDecision, DispatchRequest, decide

FILLED_EVENT = "backorder_filled"
"""Kind of the dispatch event recorded when a backorder is reserved."""

MAX_RESERVE_ATTEMPTS = 3
"""Decide-and-reserve tries per backorder when a concurrent transaction took the chosen units
(PostgreSQL; SQLite writers are serialised)."""

FILL_LOCK_KEY = 0x5350_4152_4553_4230  # "SPARESB0"
"""PostgreSQL advisory lock that serialises the transactions that free stock and fill."""

_D: Table = Dispatch.__table__  # type: ignore[assignment]
_E: Table = DispatchEvent.__table__  # type: ignore[assignment]


def lock_for_fill(session: Session | Connection) -> None:
    """Call first in a transaction that will free stock and fill backorders (before it locks any
    balance row). On PostgreSQL these transactions then run one at a time (a transaction-scoped
    advisory lock, across server processes): two of them freeing stock at different depots and
    each reserving at the other's could otherwise deadlock. Creates do not take it; they hold one
    balance row and wait on nothing else, so no cycle forms. SQLite needs nothing (one writer)."""
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FILL_LOCK_KEY})


def parts_served_by(ctx: AppContext, part_ids: Iterable[str]) -> list[str]:
    """Requested parts whose candidates (the part or an allowed substitute) include one of
    ``part_ids``, in scenario order."""
    freed = set(part_ids)
    sc = ctx.scenario
    return [p.part_id for p in sc.parts
            if p.part_id in freed or freed.intersection(sc.substitutes_for(p.part_id))]


def stored_deadline(d: dict[str, Any]) -> Deadline:
    """The :class:`Deadline` of a stored answer (its ``deadline`` object)."""
    due = d.get("due_at")
    return Deadline(
        due_at=None if due is None else datetime.fromisoformat(due),
        clock_started_at=datetime.fromisoformat(d["clock_started_at"]),
        milestone=d["milestone"], coverage=d["coverage"], timezone=d["timezone"],
        holidays_skipped=tuple(date.fromisoformat(x) for x in d["holidays_skipped"]),
        cutoff_applied=d["cutoff_applied"], explanation=(d["explanation"],))


def redecision_body(dec: DispatchDecision, ready: datetime, at: datetime) -> dict[str, Any]:
    """The fields of a dispatch answer that a re-decision replaces (deadline and order stay)."""
    ch = dec.chosen
    assert ch is not None
    return {
        "status": Status.RESERVED.value, "on_time": dec.on_time, "at_risk": not dec.on_time,
        "reason": f"Backorder filled at {iso(at)}: {dec.reason}",
        "source_depot_id": ch.depot_id, "mode_id": ch.mode_id, "shipped_part_id": ch.part_id,
        "substitute_part_id": dec.substitute_id, "eta": iso(ch.arrives_at),
        "margin_hours": _r3(ch.margin_hours), "cost": ch.cost, "expected_at": iso(ch.arrives_at),
        "ready_at": iso(ready), "chosen": option_out(ch),
        "alternatives": [option_out(o) for o in dec.alternatives], "redecided_at": iso(at),
    }


def fill_backorders(ctx: AppContext, session: Session | Connection, freed_part_ids: Iterable[str],
                    *, only: str | None = None) -> list[str]:
    """Reserve backorders that the free stock of ``freed_part_ids`` can now serve, earliest
    deadline first, in the caller's write transaction; returns the filled dispatch ids.

    ``only`` stops the fill after that dispatch: backorders ahead of it in deadline order are
    served first (an explicit re-decision cannot jump the queue), those behind it keep waiting.
    """
    freed = list(dict.fromkeys(freed_part_ids))
    wanted = parts_served_by(ctx, freed)
    if not wanted or not _any_free(session, freed):
        return []
    # the stored answers (~10 kB each) are read only for the rows decided below
    rows = session.execute(
        select(_D.c.id, _D.c.ticket_id, _D.c.owner, _D.c.site_id, _D.c.part_id, _D.c.severity,
               _D.c.quantity, _D.c.reported_at, _D.c.due_at)
        .where(_D.c.status == Status.BACKORDERED.value, _D.c.part_id.in_(wanted))
        .order_by(_D.c.due_at.is_(None), _D.c.due_at, _D.c.reported_at, _D.c.id)).all()
    filled: list[str] = []
    for row in rows:
        parts = [row.part_id, *ctx.scenario.substitutes_for(row.part_id)]
        for _ in range(MAX_RESERVE_ATTEMPTS):
            free = stock.free_stock(session=session, part_ids=parts)
            if max(free.values(), default=0) < row.quantity:
                break  # nothing can ship the whole quantity: it keeps waiting
            outcome = _fill_one(ctx, session, row, free)
            if outcome is not None:
                if outcome:
                    filled.append(row.id)
                break
        if only is not None and row.id == only:
            break
        if filled and filled[-1] == row.id and not _any_free(session, freed):
            break  # the freed units are all taken: the rest keep waiting
    return filled


def _any_free(session: Session | Connection, part_ids: list[str]) -> bool:
    return any(n > 0 for n in stock.free_stock(session=session, part_ids=part_ids).values())


def _fill_one(ctx: AppContext, session: Session | Connection, row: Any,
              free: dict[tuple[str, str], int]) -> bool | None:
    """Decide and reserve one backorder: True when reserved, False when it stays backordered
    (no source, or another transaction moved it), None when the units went meanwhile (retry)."""
    now = ctx.now()
    reported = as_utc(row.reported_at)
    assert reported is not None
    stored = session.execute(select(_D.c.decision).where(_D.c.id == row.id)).scalar_one()
    first_ready = stored.get("ready_at")
    ready = max(now, reported, *([datetime.fromisoformat(first_ready)] if first_ready else []))
    req = DispatchRequest(row.site_id, row.part_id, row.severity, reported, row.quantity)
    dec = decide(req, scenario=ctx.scenario, network=ctx.network, free_stock=free,
                 levels=ctx.levels, deadline=stored_deadline(stored["deadline"]), ready_at=ready)
    ch = dec.chosen
    if ch is None:
        return False
    # claim the row first: of two transactions filling the same backorder only one moves it
    claimed = session.execute(update(_D).where(_D.c.id == row.id,
                                               _D.c.status == Status.BACKORDERED.value)
                              .values(status=Status.RESERVED.value, updated_at=now)).rowcount
    if claimed != 1:
        return False
    if not stock.reserve(session=session, depot_id=ch.depot_id, part_id=ch.part_id,
                         quantity=row.quantity, reference=row.id, at=now):
        session.execute(update(_D).where(_D.c.id == row.id)
                        .values(status=Status.BACKORDERED.value))
        return None
    body = redecision_body(dec, ready, now)
    session.execute(update(_D).where(_D.c.id == row.id).values(
        shipped_part_id=ch.part_id, source_depot_id=ch.depot_id, mode_id=ch.mode_id,
        eta=ch.arrives_at, margin_hours=ch.margin_hours, cost=ch.cost, on_time=dec.on_time,
        reserved=True, redecision=body))
    note = (f"reserved {row.quantity} x {ch.part_id} at {ch.depot_id}, {ch.mode_id}, "
            f"ETA {iso(ch.arrives_at)}" + ("" if dec.on_time else " (late)"))
    session.execute(_E.insert().values(dispatch_id=row.id, kind=FILLED_EVENT, at=now, note=note,
                                       recorded_at=now))
    enqueue(session=session, owner=row.owner, event_type=f"dispatch.{Status.RESERVED.value}",
            data=_event_data(row.id, row.ticket_id, Status.RESERVED.value, FILLED_EVENT, now,
                             depot_id=ch.depot_id, mode_id=ch.mode_id, eta=ch.arrives_at,
                             due_at=as_utc(row.due_at), on_time=dec.on_time),
            subscribers=_subscribers(ctx, session, row.owner), now=now)
    return True
