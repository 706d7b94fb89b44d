"""Dispatch use cases: create (decide + reserve + record, one transaction), events, reads.

Functions take the app context (and, inside, a session) and raise :class:`api.problems.Problem`
for anything the caller must fix.

The create is the hot path. It runs as SQLAlchemy Core statements in one transaction: look up
the Idempotency-Key on ``dispatches``, read the free stock of the part and its substitutes (one
indexed query), decide on it, reserve with the ledger's one guarded ``UPDATE`` (a lost race
decides again on fresh stock), insert the dispatch row (which stores the answer once, keyed by
the Idempotency-Key), the replenishment order and any webhook messages. The answer is built as
plain JSON-ready dicts in the shape of :class:`api.dispatches.models.DispatchOut` (a test
validates it against that schema); instants are written in UTC as ``...Z``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import fastjson
from api.context import AppContext
from api.dispatches.enums import EventKind, Status, next_status
from api.dispatches.models import DispatchCreate
from api.problems import Problem, field_problem
from api.stock import service as stock
from api.webhooks.service import Subscriber, active_subscribers, enqueue
from inventory.db.dispatch_models import Dispatch, DispatchEvent, DispatchOrder, as_utc
from optimizer.deadlines import Deadline
from optimizer.dispatch import DispatchDecision, DispatchRequest, Option, decide
from optimizer.dispatch.decide import request_deadline
from optimizer.dispatch.result import Outcome, ReplenishmentOrder

MAX_RESERVE_ATTEMPTS = 8
"""Decide-and-reserve tries when another transaction took the chosen units in between."""

REPAIR_KINDS = ("repair", "scrap")
"""Order kinds opened by ``defective_received`` (the others refill the source depot)."""

_D: Table = Dispatch.__table__  # type: ignore[assignment]
_O: Table = DispatchOrder.__table__  # type: ignore[assignment]
_E: Table = DispatchEvent.__table__  # type: ignore[assignment]


_INSERT_D = _D.insert()
_INSERT_O = _O.insert()
_BY_KEY = select(_D.c.request_hash, _D.c.decision).where(
    _D.c.owner == bindparam("owner"), _D.c.idempotency_key == bindparam("key"))

OPEN_STATUSES = (Status.RESERVED.value, Status.BACKORDERED.value, Status.PICKED.value,
                 Status.SHIPPED.value)
"""Statuses of a dispatch still under way: a second one for the same ticket and part is refused
unless the caller says it is intended."""

_OPEN_FOR_TICKET = select(_D.c.id).where(
    _D.c.owner == bindparam("owner"), _D.c.ticket_id == bindparam("ticket"),
    _D.c.part_id == bindparam("part"), _D.c.status.in_(OPEN_STATUSES)).order_by(_D.c.id).limit(1)


class _Raced(Exception):
    """The chosen units were taken between reading free stock and reserving."""


@dataclass(frozen=True)
class Created:
    """The answer to a create: status code, JSON-ready body and whether it is a replay."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


def iso(value: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC with a ``Z`` (the API's one form for instants)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def request_hash(body: DispatchCreate) -> str:
    """SHA-256 of the canonical request (sorted keys, instants as sent after validation);
    ``allow_duplicate_ticket`` is left out: it changes whether a create is allowed, not what
    it asks for."""
    canonical = fastjson.dumps(body.model_dump(mode="json", exclude={"allow_duplicate_ticket"}))
    return hashlib.sha256(canonical).hexdigest()


def _check_known(ctx: AppContext, body: DispatchCreate) -> None:
    sc = ctx.scenario
    if body.site_id not in sc._index["sites"]:
        raise field_problem(422, "body.site_id", f"unknown site {body.site_id!r}", "unknown-site")
    if body.part_id not in sc._index["parts"]:
        raise field_problem(422, "body.part_id", f"unknown part {body.part_id!r}", "unknown-part")
    contract = sc.contract(sc.site(body.site_id).contract_id)
    if body.severity not in {t.severity for t in contract.terms}:
        raise field_problem(422, "body.severity",
                            f"contract {contract.contract_id} has no terms for severity "
                            f"{body.severity}", "unknown-severity")


def deadline_out(d: Deadline) -> dict[str, Any]:
    return {"due_at": iso(d.due_at), "clock_started_at": iso(d.clock_started_at),
            "milestone": d.milestone, "coverage": d.coverage, "timezone": d.timezone,
            "holidays_skipped": [x.isoformat() for x in d.holidays_skipped],
            "cutoff_applied": d.cutoff_applied, "explanation": d.text}


def option_out(o: Option) -> dict[str, Any]:
    """An :class:`optimizer.dispatch.Option` in the shape of ``OptionOut``."""
    return {"depot_id": o.depot_id, "part_id": o.part_id, "mode_id": o.mode_id,
            "free_units": o.free_units, "critical_level": o.critical_level,
            "departs_at": iso(o.departs_at), "eta": iso(o.arrives_at),
            "margin_hours": _r3(o.margin_hours), "meets_deadline": o.meets_deadline,
            "takes_protected_units": o.takes_protected, "transport_cost": o.transport_cost,
            "protection_cost": o.protection_cost, "substitute_cost": o.substitute_cost,
            "cost": o.cost, "route": o.route, "lost_because": o.lost_because}


def order_out(o: ReplenishmentOrder | Any, lead_time_days: float | None = None) -> dict[str, Any]:
    """A replenishment order (decision) or a stored order row in the shape of ``OrderOut``."""
    lead = o.lead_time_days if lead_time_days is None else lead_time_days
    return {"kind": o.kind, "depot_id": o.depot_id, "part_id": o.part_id, "quantity": o.quantity,
            "from_id": o.from_id, "expected_at": iso(as_utc(o.expected_at)),
            "lead_time_days": float(lead)}


def _repair_days(ctx: AppContext, kind: str, part_id: str) -> float:
    part = ctx.scenario.part(part_id)
    return part.repair_turnaround_days if kind == "repair" else 0.0


def decision_body(dispatch_id: str, body: DispatchCreate, dec: DispatchDecision, ready: datetime,
                  created_at: datetime) -> dict[str, Any]:
    """The stored answer of a create: everything the decision said, JSON-ready."""
    ch = dec.chosen
    status = Status.BACKORDERED if dec.outcome is Outcome.BACKORDERED else Status.RESERVED
    return {
        "id": dispatch_id, "ticket_id": body.ticket_id, "status": status.value,
        "site_id": body.site_id, "part_id": body.part_id, "severity": body.severity,
        "quantity": body.quantity, "tier": dec.tier, "on_time": dec.on_time,
        "at_risk": not dec.on_time, "reason": dec.reason, "deadline": deadline_out(dec.deadline),
        "source_depot_id": ch.depot_id if ch else None, "mode_id": ch.mode_id if ch else None,
        "shipped_part_id": ch.part_id if ch else None, "substitute_part_id": dec.substitute_id,
        "eta": iso(ch.arrives_at) if ch else None,
        "margin_hours": _r3(ch.margin_hours) if ch else None,
        "cost": ch.cost if ch else None,
        "expected_at": iso(dec.expected_at), "ready_at": iso(ready),
        "chosen": option_out(ch) if ch else None,
        "alternatives": [option_out(o) for o in dec.alternatives],
        "replenishment_order": order_out(dec.replenishment) if dec.replenishment else None,
        "repair_order": None,
        "sla": {"outcome": None, "delta_hours": None, "delivered_at": None},
        "events": [],
        "created_at": iso(created_at),
        "redecided_at": None,
    }


def _stored(session: Session | Connection, owner: str, key: str, digest: str) -> Created | None:
    """The stored answer for (owner, key); a 422 problem when the body differs."""
    row = session.execute(_BY_KEY, {"owner": owner, "key": key}).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                      "this Idempotency-Key was already used with a different request body",
                      errors=[{"field": "header.Idempotency-Key",
                               "message": "already used with a different body"}])
    return Created(201, row.decision, True)


def ready_time(ctx: AppContext, req: DispatchRequest) -> datetime:
    """When the order reaches the depot: the later of now and the request's own instants (a
    ticket opened hours ago cannot ship in the past; an approval in the future waits for it)."""
    given = [t for t in (req.reported_at, req.confirmed_at, req.approved_at) if t is not None]
    return max([ctx.now(), *(t.astimezone(UTC) for t in given)])


def create_dispatch(ctx: AppContext, body: DispatchCreate, *, owner: str,
                    idempotency_key: str) -> Created:
    """Decide and reserve for organization ``owner``; replay the stored answer for a key it
    used before; a 409 when it has an open dispatch for the ticket and part already.

    The decision is made on a snapshot of the free stock read without any lock, so writers
    (other threads, other server processes) only queue for the short write transaction. Inside
    it the free stock is read again: when it changed, the decision is made again on the fresh
    figures, so the committed choice is exactly the one the committed stock gives (rationing
    included); the guarded ``UPDATE`` of the ledger then makes the reservation itself safe.
    """
    _check_known(ctx, body)
    digest = request_hash(body)
    req = DispatchRequest(body.site_id, body.part_id, body.severity, body.reported_at,
                          body.quantity, body.confirmed_at, body.approved_at)
    deadline = request_deadline(ctx.scenario, req)
    parts = [body.part_id, *ctx.scenario.substitutes_for(body.part_id)]
    ready = ready_time(ctx, req)
    with (ctx.read_engine or ctx.engine).connect() as conn:
        found = _stored(conn, owner, idempotency_key, digest)
        if found:  # a replay costs one read and no lock
            return found
        free = stock.free_stock(session=conn, part_ids=parts)
    dec = decide(req, scenario=ctx.scenario, network=ctx.network, free_stock=free,
                 levels=ctx.levels, deadline=deadline, ready_at=ready)
    for _ in range(MAX_RESERVE_ATTEMPTS):
        try:
            with ctx.transaction() as session:
                # a concurrent first request with this key is caught by the unique
                # (owner, idempotency_key) on insert, below
                now_free = stock.free_stock(session=session, part_ids=parts)
                if now_free != free:
                    free = now_free
                    dec = decide(req, scenario=ctx.scenario, network=ctx.network,
                                 free_stock=free, levels=ctx.levels, deadline=deadline,
                                 ready_at=ready)
                return _record(ctx, session, body, req, dec, deadline, ready, owner,
                               idempotency_key, digest)
        except _Raced:
            continue
        except IntegrityError:
            # a concurrent request with the same key committed first: answer as it did
            with ctx.sessions() as session:
                found = _stored(session, owner, idempotency_key, digest)
            if found:
                return found
            raise
    raise Problem(409, "contention", "Too much contention",
                  "stock changed under the request repeatedly; retry with the same Idempotency-Key")


def _check_duplicate(session: Connection, owner: str, body: DispatchCreate, key: str,
                     digest: str) -> Created | None:
    """The stored answer when a concurrent create with this key committed first; else a 409
    naming the open dispatch ``owner`` already has for this ticket and part (unless the body
    says ``allow_duplicate_ticket``). On PostgreSQL a transaction advisory lock on (owner,
    ticket, part) makes two concurrent creates check one after the other; SQLite's writers are
    serial anyway."""
    if body.allow_duplicate_ticket:
        return None
    if session.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                        {"k": f"ticket:{owner}:{body.ticket_id}:{body.part_id}"})
    replay = _stored(session, owner, key, digest)
    if replay is not None:
        return replay
    found = session.execute(_OPEN_FOR_TICKET, {"owner": owner, "ticket": body.ticket_id,
                                               "part": body.part_id}).scalar()
    if found is not None:
        link = f"/v1/dispatches/{found}"
        raise Problem(409, "duplicate-ticket", "Open dispatch for this ticket and part",
                      f"dispatch {found} is already under way for ticket {body.ticket_id!r} and "
                      f"part {body.part_id!r}; read it at {link}, or send "
                      "'allow_duplicate_ticket: true' if a second unit is intended",
                      errors=[{"field": "body.ticket_id",
                               "message": f"open dispatch {found} for this part"}],
                      headers={"Link": f'<{link}>; rel="duplicate"'},
                      existing_dispatch_id=found, existing_dispatch=link)
    return None


def _record(ctx: AppContext, session: Connection, body: DispatchCreate, req: DispatchRequest,
            dec: DispatchDecision, deadline: Deadline, ready: datetime, owner: str, key: str,
            digest: str) -> Created:
    """Reserve the chosen units and write the dispatch, its order and its webhook messages
    (after :func:`_check_duplicate`)."""
    replay = _check_duplicate(session, owner, body, key, digest)
    if replay is not None:
        return replay
    now = ctx.now()
    dispatch_id = "dsp_" + secrets.token_hex(8)
    ch = dec.chosen
    if ch is not None and not stock.reserve(session=session, depot_id=ch.depot_id,
                                            part_id=ch.part_id, quantity=req.quantity,
                                            reference=dispatch_id, at=now):
        raise _Raced()
    out = decision_body(dispatch_id, body, dec, ready, now)
    session.execute(_INSERT_D, {
        "id": dispatch_id, "ticket_id": body.ticket_id, "owner": owner, "idempotency_key": key,
        "request_hash": digest, "site_id": body.site_id, "part_id": body.part_id,
        "shipped_part_id": ch.part_id if ch else None, "severity": body.severity,
        "quantity": body.quantity, "tier": dec.tier, "status": out["status"],
        "reported_at": body.reported_at, "due_at": deadline.due_at,
        "source_depot_id": ch.depot_id if ch else None, "mode_id": ch.mode_id if ch else None,
        "eta": ch.arrives_at if ch else None, "margin_hours": ch.margin_hours if ch else None,
        "cost": ch.cost if ch else None, "on_time": dec.on_time, "reserved": ch is not None,
        "sla_outcome": None, "sla_delta_hours": None, "delivered_at": None, "decision": out,
        "created_at": now, "updated_at": now})
    if dec.replenishment is not None:
        o = dec.replenishment
        session.execute(_INSERT_O, {
            "dispatch_id": dispatch_id, "kind": o.kind, "depot_id": o.depot_id,
            "part_id": o.part_id, "quantity": o.quantity, "from_id": o.from_id,
            "expected_at": o.expected_at, "status": "open", "created_at": now})
    enqueue(session=session, owner=owner, event_type=f"dispatch.{out['status']}",
            data=_event_data(dispatch_id, body.ticket_id, out["status"], None, now,
                             depot_id=ch.depot_id if ch else None,
                             mode_id=ch.mode_id if ch else None,
                             eta=ch.arrives_at if ch else None, due_at=deadline.due_at),
            subscribers=_subscribers(ctx, session, owner))
    return Created(201, out, False)


def _subscribers(ctx: AppContext, session: Session | Connection, owner: str) -> list[Subscriber]:
    """Active subscriptions of ``owner``, cached per process for a few seconds and cleared
    on (un)subscribe in this process; with several server processes a new subscription gets the
    changes committed from at most ``subscription_cache`` seconds after it was made."""
    ids = ctx.subscription_cache.get(owner)
    if ids is None:
        ids = active_subscribers(session=session, owner=owner)
        ctx.subscription_cache[owner] = ids
    return ids


def _event_data(dispatch_id: str, ticket_id: str, status: str, event: str | None,
                at: datetime, *, depot_id: str | None, mode_id: str | None,
                eta: datetime | None, due_at: datetime | None, **extra: Any) -> dict[str, Any]:
    """The ``data`` of a webhook message: the change, and where the part ships from (depot),
    by which transport mode, when it arrives (ETA) and when it is due (None while backordered)."""
    return {"dispatch_id": dispatch_id, "ticket_id": ticket_id, "status": status, "event": event,
            "at": iso(at), "depot_id": depot_id, "mode_id": mode_id, "eta": iso(eta),
            "due_at": iso(due_at), **extra}


def _load(session: Session, dispatch_id: str, tenant: str | None = None) -> Dispatch:
    """The dispatch; a 404 when it does not exist or (with ``tenant``) belongs to another
    organization, so ids of other organizations do not leak."""
    row = session.get(Dispatch, dispatch_id)
    if row is None or (tenant is not None and row.owner != tenant):
        raise Problem(404, "dispatch-not-found", "Dispatch not found",
                      f"no dispatch {dispatch_id!r}",
                      errors=[{"field": "path.dispatch_id", "message": "unknown dispatch id"}])
    return row


def _views(ctx: AppContext, session: Session, rows: list[Dispatch]) -> list[dict[str, Any]]:
    """The stored decisions plus the live status, SLA outcome, events and repair order (two
    queries for all rows, not two per row)."""
    ids = [r.id for r in rows]
    events: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    repairs: dict[str, dict[str, Any]] = {}
    if ids:
        for e in session.execute(select(_E).where(_E.c.dispatch_id.in_(ids)).order_by(_E.c.id)):
            events[e.dispatch_id].append({"kind": e.kind, "at": iso(as_utc(e.at)), "note": e.note,
                                          "recorded_at": iso(as_utc(e.recorded_at))})
        for o in session.execute(select(_O).where(_O.c.dispatch_id.in_(ids),
                                                  _O.c.kind.in_(REPAIR_KINDS))):
            repairs[o.dispatch_id] = order_out(o, _repair_days(ctx, o.kind, o.part_id))
    out = []
    for row in rows:
        view = dict(row.decision)
        if row.redecision:  # a filled backorder: the decision that reserved it
            view.update(row.redecision)
        view["status"] = row.status
        view["sla"] = {"outcome": row.sla_outcome, "delta_hours": row.sla_delta_hours,
                       "delivered_at": iso(as_utc(row.delivered_at))}
        view["events"] = events[row.id]
        view["repair_order"] = repairs.get(row.id)
        out.append(view)
    return out


def dispatch_view(ctx: AppContext, session: Session, row: Dispatch) -> dict[str, Any]:
    """One dispatch as the API shows it (see :func:`_views`)."""
    return _views(ctx, session, [row])[0]


def get_dispatch(ctx: AppContext, dispatch_id: str, *, tenant: str | None = None) -> dict[str, Any]:
    """One dispatch (of organization ``tenant`` only, if given)."""
    with ctx.sessions() as session:
        return dispatch_view(ctx, session, _load(session, dispatch_id, tenant))


def list_dispatches(ctx: AppContext, *, ticket_id: str | None = None, status: Status | None = None,
                    at_risk: bool | None = None, date_from: datetime | None = None,
                    date_to: datetime | None = None, limit: int = 100,
                    after: str | None = None, tenant: str | None = None) -> list[dict[str, Any]]:
    """Dispatches (of organization ``tenant`` only, if given) filtered by ticket, status,
    at-risk flag and reported_at in [from, to), ordered by (reported_at, id); ``after``: only
    those ordered after that dispatch (keyset pagination: the page after the one ending with
    it)."""
    q = select(Dispatch)
    if tenant is not None:
        q = q.where(Dispatch.owner == tenant)
    if after is not None:
        at = select(Dispatch.reported_at).where(Dispatch.id == after).scalar_subquery()
        q = q.where(or_(Dispatch.reported_at > at,
                        and_(Dispatch.reported_at == at, Dispatch.id > after)))
    if ticket_id is not None:
        q = q.where(Dispatch.ticket_id == ticket_id)
    if status is not None:
        q = q.where(Dispatch.status == status.value)
    if at_risk is not None:
        q = q.where(Dispatch.on_time.is_(not at_risk))
    if date_from is not None:
        q = q.where(Dispatch.reported_at >= date_from)
    if date_to is not None:
        q = q.where(Dispatch.reported_at < date_to)
    q = q.order_by(Dispatch.reported_at, Dispatch.id).limit(limit)
    with ctx.sessions() as session:
        return _views(ctx, session, list(session.scalars(q)))


def record_event(ctx: AppContext, dispatch_id: str, kind: EventKind, at: datetime,
                 note: str | None = None, *, tenant: str | None = None) -> dict[str, Any]:
    """Apply one lifecycle event: guard the transition, move stock, fix the SLA outcome.
    With ``tenant`` a dispatch of another organization is a 404.

    Sending the dispatch's last event again (same kind and instant) changes nothing and answers
    the dispatch as it is, so a ticket system may retry an event after a timeout.
    """
    at = at.astimezone(UTC)
    with ctx.sessions(write=True) as session:
        row = _load(session, dispatch_id, tenant)
        last = session.execute(select(_E.c.kind, _E.c.at).where(_E.c.dispatch_id == row.id)
                               .order_by(_E.c.id.desc()).limit(1)).first()
        if last is not None and last.kind == kind.value and as_utc(last.at) == at:
            # a ticket system retrying the event it already sent: nothing happens twice
            return dispatch_view(ctx, session, row)
        current = Status(row.status)
        target = next_status(current, kind)
        if target is None:
            raise Problem(409, "illegal-transition", "Illegal status transition",
                          f"a dispatch in status {current.value!r} cannot take event {kind.value!r}",
                          errors=[{"field": "body.kind",
                                   "message": f"not allowed from {current.value}"}])
        _check_event_time(row, at, None if last is None else as_utc(last.at))
        now = ctx.now()
        if kind is EventKind.CANCELLED and row.reserved:  # frees stock: fills backorders below
            from api.dispatches.backorders import lock_for_fill

            lock_for_fill(session)
        # guard against a concurrent event: only one UPDATE from `current` can win
        won = session.execute(update(Dispatch).where(Dispatch.id == row.id,
                                                     Dispatch.status == current.value)
                              .values(status=target.value, updated_at=now)).rowcount
        if won != 1:
            raise Problem(409, "concurrent-transition", "Concurrent status change",
                          "the dispatch changed status meanwhile; read it and retry")
        session.refresh(row)
        extra: dict[str, Any] = {}
        released = kind is EventKind.CANCELLED and row.reserved
        _apply_stock(session, row, kind, now)
        if kind is EventKind.CANCELLED:
            extra = {"cancelled_order_ids": _cancel_open_refills(session, row)}
        elif kind is EventKind.DELIVERED:
            extra = _fix_sla(row, at)
        elif kind is EventKind.DEFECTIVE_RECEIVED:
            extra = {"repair_order": _open_repair(ctx, session, row, at, now)}
        session.add(DispatchEvent(dispatch_id=row.id, kind=kind.value, at=at, note=note,
                                  recorded_at=now))
        enqueue(session=session, owner=row.owner, event_type=f"dispatch.{target.value}",
                data=_event_data(row.id, row.ticket_id, target.value, kind.value, at,
                                 depot_id=row.source_depot_id, mode_id=row.mode_id,
                                 eta=as_utc(row.eta), due_at=as_utc(row.due_at), **extra),
                subscribers=_subscribers(ctx, session, row.owner))
        session.flush()
        if released:  # the released units may fill a waiting backorder, in this transaction
            from api.dispatches.backorders import fill_backorders  # (it imports this module)

            fill_backorders(ctx, session, [row.shipped_part_id])
        return dispatch_view(ctx, session, row)


def redecide(ctx: AppContext, dispatch_id: str, *, tenant: str | None = None) -> dict[str, Any]:
    """Decide a backordered dispatch again on the free stock now (the fill that a receipt,
    adjustment or cancel runs by itself); backorders with an earlier deadline for the same
    units go first. Still no stock: it stays backordered. Any other status is a 409; with
    ``tenant`` a dispatch of another organization is a 404."""
    from api.dispatches.backorders import fill_backorders, lock_for_fill

    with ctx.sessions(write=True) as session:
        lock_for_fill(session)
        row = _load(session, dispatch_id, tenant)
        if row.status != Status.BACKORDERED.value:
            raise Problem(409, "not-backordered", "Not a backorder",
                          f"dispatch {dispatch_id!r} is {row.status!r}; only a backordered "
                          "dispatch is decided again",
                          errors=[{"field": "path.dispatch_id",
                                   "message": f"status is {row.status}"}])
        parts = [row.part_id, *ctx.scenario.substitutes_for(row.part_id)]
        fill_backorders(ctx, session, parts, only=row.id)
        session.refresh(row)
        return dispatch_view(ctx, session, row)


def _check_event_time(row: Dispatch, at: datetime, previous: datetime | None) -> None:
    """An event cannot happen before the ticket was reported nor before the previous event."""
    reported = as_utc(row.reported_at)
    if at < reported:  # type: ignore[operator]
        raise field_problem(422, "body.at", f"{iso(at)} is before the ticket was reported "
                                            f"({iso(reported)})", "event-time")
    if previous is not None and at < previous:
        raise field_problem(422, "body.at", f"{iso(at)} is before the previous event "
                                            f"({iso(previous)})", "event-time")


def _apply_stock(session: Session, row: Dispatch, kind: EventKind, now: datetime) -> None:
    """The ledger movement an event implies (cancel releases, ship issues, defective comes in)."""
    args = {"session": session, "depot_id": row.source_depot_id, "part_id": row.shipped_part_id,
            "quantity": row.quantity, "reference": row.id, "at": now}
    if kind is EventKind.CANCELLED and row.reserved:
        stock.release(**args)
        row.reserved = False
    elif kind is EventKind.SHIPPED:
        stock.issue(**args)
        row.reserved = False
    elif kind is EventKind.DEFECTIVE_RECEIVED and row.source_depot_id is not None:
        stock.defective_in(**{**args, "part_id": row.part_id})


def _cancel_open_refills(session: Session, row: Dispatch) -> list[int]:
    """Close the cancelled dispatch's replenishment orders (transfer, buy) that nothing was
    booked for yet: they existed only to refill what this dispatch took. Orders already sent
    stay as they are (their units are on the way and land as stock)."""
    ids = [int(i) for i in session.scalars(
        select(_O.c.id).where(_O.c.dispatch_id == row.id, _O.c.status == "open",
                              _O.c.kind.in_(("transfer", "buy"))))]
    if ids:
        session.execute(update(_O).where(_O.c.id.in_(ids), _O.c.status == "open")
                        .values(status="cancelled"))
    return ids


def _fix_sla(row: Dispatch, delivered_at: datetime) -> dict[str, Any]:
    """Met when delivered by the due time (always met without a part deadline); the margin in
    hours is due minus delivered (negative: late by that much)."""
    row.delivered_at = delivered_at
    due = as_utc(row.due_at)
    if due is None:
        row.sla_outcome, row.sla_delta_hours = "met", None
    else:
        delta = (due - delivered_at) / timedelta(hours=1)
        row.sla_outcome = "met" if delta >= 0 else "missed"
        row.sla_delta_hours = round(delta, 3)
    return {"sla_outcome": row.sla_outcome, "sla_delta_hours": row.sla_delta_hours}


def _open_repair(ctx: AppContext, session: Session, row: Dispatch, at: datetime,
                 now: datetime) -> dict[str, Any]:
    """A repair order for the returned unit toward the HQ (repairable parts), else a scrap order."""
    part = ctx.scenario.part(row.part_id)
    depot = row.source_depot_id or ctx.scenario.site(row.site_id).primary_depot_id
    kind = "repair" if part.repairable else "scrap"
    days = _repair_days(ctx, kind, row.part_id)
    order = DispatchOrder(dispatch_id=row.id, kind=kind, depot_id=ctx.scenario.hq.depot_id,
                          part_id=row.part_id, quantity=row.quantity, from_id=depot,
                          expected_at=at + timedelta(days=days), created_at=now)
    session.add(order)
    return {"kind": kind, "depot_id": order.depot_id, "part_id": row.part_id,
            "quantity": row.quantity, "from_id": depot, "expected_at": iso(order.expected_at),
            "lead_time_days": float(days)}
