"""Dispatch use cases: create (decide + reserve + record, one write transaction), get, list.

Functions take the app context and raise :class:`api.problems.Problem` for anything the caller
must fix; reads take the caller's ``db_session`` (keyword-only), opened by the view through
:meth:`api.context.AppContext.sessions`. The lifecycle events are in
:mod:`api.dispatches.lifecycle`, backorder filling in :mod:`api.dispatches.flows`, the JSON
shapes in :mod:`api.dispatches.render`.

The create is the hot path. It runs as SQLAlchemy Core statements: the Idempotency-Key and the
free stock of the part and its substitutes are read on a lock-free snapshot, the decision is
made on it, and only then a short write transaction re-reads the free stock (deciding again only
when it changed), reserves with the ledger's one guarded ``UPDATE`` (a lost race decides again on
fresh stock), inserts the dispatch row (which stores the answer, rendered once, keyed by the
Idempotency-Key), the replenishment order and any webhook messages.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import fastjson, observability
from api.context import AppContext
from api.dispatches import render
from api.dispatches.models import DispatchCreate
from api.problems import Problem, field_problem
from api.webhooks.service import Subscriber, active_subscribers, enqueue
from inventory import ledger
from inventory.db.dispatch_models import Dispatch, DispatchEvent, DispatchOrder
from inventory.db.prepared import Prepared, insert_of
from optimizer.deadlines import Deadline
from optimizer.dispatch import DispatchDecision, DispatchRequest, decide
from optimizer.dispatch.decide import request_deadline
from optimizer.dispatch.lifecycle import OPEN_STATUSES, Status
from optimizer.dispatch.policy import ready_time, return_lead_days

MAX_RESERVE_ATTEMPTS = 8
"""Decide-and-reserve tries when another transaction took the chosen units in between."""

REPAIR_KINDS = ("repair", "scrap")
"""Order kinds opened by ``defective_received`` (the others refill the source depot)."""

_D: Table = Dispatch.__table__  # type: ignore[assignment]
_O: Table = DispatchOrder.__table__  # type: ignore[assignment]
_E: Table = DispatchEvent.__table__  # type: ignore[assignment]

# the create's statements, compiled once (on SQLite run straight on the DBAPI cursor)
_INSERT_D = insert_of(_D, (
    "id", "ticket_id", "owner", "idempotency_key", "request_hash", "site_id", "part_id",
    "shipped_part_id", "severity", "quantity", "tier", "status", "reported_at", "due_at",
    "source_depot_id", "mode_id", "eta", "margin_hours", "cost", "on_time", "reserved",
    "sla_outcome", "sla_delta_hours", "delivered_at", "decision", "created_at", "updated_at"))
_INSERT_O = insert_of(_O, ("dispatch_id", "kind", "depot_id", "part_id", "quantity", "from_id",
                           "expected_at", "status", "created_at"))
_BY_KEY = Prepared(select(_D.c.request_hash, _D.c.decision).where(
    _D.c.owner == bindparam("owner"), _D.c.idempotency_key == bindparam("key")))
_OPEN = tuple(sorted(s.value for s in OPEN_STATUSES))
_OPEN_FOR_TICKET = Prepared(select(_D.c.id).where(
    _D.c.owner == bindparam("owner"), _D.c.ticket_id == bindparam("ticket"),
    _D.c.part_id == bindparam("part"),
    # one bind per status (not an expanding IN list): the statement compiles once
    _D.c.status.in_([bindparam(f"open_{i}") for i in range(len(_OPEN))])
).order_by(_D.c.id).limit(1))
_OPEN_PARAMS = {f"open_{i}": s for i, s in enumerate(_OPEN)}


class _Raced(Exception):
    """The chosen units were taken between reading free stock and reserving."""


@dataclass(frozen=True)
class Created:
    """The answer to a create: status code, JSON-ready body and whether it is a replay."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


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


def _stored(db: Session | Connection, owner: str, key: str, digest: str) -> Created | None:
    """The stored answer for (owner, key); a 422 problem when the body differs."""
    row = _BY_KEY.first(db, {"owner": owner, "key": key})
    if row is None:
        return None
    request_hash, decision = row
    if request_hash != digest:
        raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                      "this Idempotency-Key was already used with a different request body",
                      errors=[{"field": "header.Idempotency-Key",
                               "message": "already used with a different body"}])
    return Created(201, decision, True)


def candidate_parts(ctx: AppContext, part_id: str) -> list[str]:
    """The part and the parts allowed to replace it, the part first."""
    return [part_id, *ctx.scenario.substitutes_for(part_id)]


def create_dispatch(ctx: AppContext, body: DispatchCreate, *, owner: str,
                    idempotency_key: str) -> Created:
    """Decide and reserve for organization ``owner``; replay the stored answer for a key it
    used before; a 409 when it has an open dispatch for the ticket and part already
    (:func:`prepare_create`, then :func:`commit_create`)."""
    step = prepare_create(ctx, body, owner=owner, idempotency_key=idempotency_key)
    return step if isinstance(step, Created) else commit_create(ctx, step)


@dataclass
class Pending:
    """A create decided on a snapshot of the free stock, waiting for its write transaction
    (``free`` and ``dec`` are updated when the stock changed meanwhile)."""

    body: DispatchCreate
    owner: str
    key: str
    digest: str
    req: DispatchRequest
    deadline: Deadline
    parts: list[str]
    ready: datetime
    free: dict[tuple[str, str], int]
    dec: DispatchDecision


def prepare_create(ctx: AppContext, body: DispatchCreate, *, owner: str,
                   idempotency_key: str) -> Created | Pending:
    """Everything before the write transaction: the stored answer for a replay, else the
    decision on a snapshot of the free stock read without any lock
    (:meth:`AppContext.snapshot`), so writers (other threads, other server processes) only
    queue for the short write transaction. CPU and one lock-free read: it never waits for a
    writer."""
    _check_known(ctx, body)
    digest = request_hash(body)
    req = DispatchRequest(body.site_id, body.part_id, body.severity, body.reported_at,
                          body.quantity, body.confirmed_at, body.approved_at)
    deadline = request_deadline(ctx.scenario, req)
    parts = candidate_parts(ctx, body.part_id)
    ready = ready_time(ctx.now(), req.reported_at, req.confirmed_at, req.approved_at)
    with ctx.snapshot() as conn:
        found = _stored(conn, owner, idempotency_key, digest)
        if found:  # a replay costs one read and no lock
            return found
        free = ledger.free_stock(session=conn, part_ids=parts)
    dec = decide(req, scenario=ctx.scenario, network=ctx.network, free_stock=free,
                 levels=ctx.levels, deadline=deadline, ready_at=ready)
    return Pending(body, owner, idempotency_key, digest, req, deadline, parts, ready, free, dec)


def commit_create(ctx: AppContext, p: Pending, *, wait: bool = True) -> Created:
    """The write transaction of a prepared create. Inside it the free stock is read again:
    when it changed, the decision is made again on the fresh figures, so the committed choice
    is exactly the one the committed stock gives (rationing included); the guarded ``UPDATE``
    of the ledger then makes the reservation itself safe. ``wait=False``
    (:meth:`AppContext.transaction`): :class:`~inventory.db.engine.WriterBusy` instead of
    waiting for another writer; ``p`` keeps what was decided, so the caller can commit it
    again, waiting, elsewhere (a worker thread)."""
    for _ in range(MAX_RESERVE_ATTEMPTS):
        try:
            with ctx.transaction(wait=wait) as conn:
                # a concurrent first request with this key is caught by the unique
                # (owner, idempotency_key) on insert, below
                now_free = ledger.free_stock(session=conn, part_ids=p.parts)
                if now_free != p.free:
                    p.free = now_free
                    p.dec = decide(p.req, scenario=ctx.scenario, network=ctx.network,
                                   free_stock=now_free, levels=ctx.levels, deadline=p.deadline,
                                   ready_at=p.ready)
                return _record(ctx, conn, p.body, p.req, p.dec, p.deadline, p.ready, p.owner,
                               p.key, p.digest)
        except _Raced:
            observability.reservation_conflict("retried")
            continue
        except IntegrityError:
            # a concurrent request with the same key committed first: answer as it did
            with ctx.snapshot() as conn:
                found = _stored(conn, p.owner, p.key, p.digest)
            if found:
                return found
            raise
    observability.reservation_conflict("gave_up")
    raise Problem(409, "contention", "Too much contention",
                  "stock changed under the request repeatedly; retry with the same Idempotency-Key")


def _check_duplicate(conn: Connection, owner: str, body: DispatchCreate, key: str,
                     digest: str) -> Created | None:
    """A 409 naming the open dispatch ``owner`` already has for this ticket and part (unless
    the body says ``allow_duplicate_ticket``), or that dispatch's stored answer when it is a
    concurrent create with this key that committed first (a key reused by a create that
    committed with another ticket is caught by the unique key on insert). On PostgreSQL a
    transaction advisory lock on (owner, ticket, part) makes two concurrent creates check one
    after the other; SQLite's writers are serial anyway."""
    if body.allow_duplicate_ticket:
        return None
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                     {"k": f"ticket:{owner}:{body.ticket_id}:{body.part_id}"})
    row = _OPEN_FOR_TICKET.first(conn, {"owner": owner, "ticket": body.ticket_id,
                                        "part": body.part_id, **_OPEN_PARAMS})
    if row is not None:
        found = row[0]
        replay = _stored(conn, owner, key, digest)  # it may be this request's, committed first
        if replay is not None:
            return replay
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


def _record(ctx: AppContext, conn: Connection, body: DispatchCreate, req: DispatchRequest,
            dec: DispatchDecision, deadline: Deadline, ready: datetime, owner: str, key: str,
            digest: str) -> Created:
    """Reserve the chosen units and write the dispatch, its order and its webhook messages
    (after :func:`_check_duplicate`)."""
    replay = _check_duplicate(conn, owner, body, key, digest)
    if replay is not None:
        return replay
    now = ctx.now()
    dispatch_id = "dsp_" + secrets.token_hex(8)
    ch = dec.chosen
    if ch is not None and not ledger.reserve(session=conn, depot_id=ch.depot_id,
                                             part_id=ch.part_id, quantity=req.quantity,
                                             reference=dispatch_id, at=now):
        raise _Raced()
    out = render.create_answer(dispatch_id, body, dec, ready, now)
    _INSERT_D.run(conn, {
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
        _INSERT_O.run(conn, {
            "dispatch_id": dispatch_id, "kind": o.kind, "depot_id": o.depot_id,
            "part_id": o.part_id, "quantity": o.quantity, "from_id": o.from_id,
            "expected_at": o.expected_at, "status": "open", "created_at": now})
    enqueue(session=conn, owner=owner, event_type=f"dispatch.{out['status']}",
            data=render.event_data(dispatch_id, body.ticket_id, out["status"], None, now,
                                   depot_id=ch.depot_id if ch else None,
                                   mode_id=ch.mode_id if ch else None,
                                   eta=ch.arrives_at if ch else None, due_at=deadline.due_at),
            subscribers=subscribers(ctx, conn, owner), now=now)
    observability.dispatch_decided(out["status"], ch.mode_id if ch else None, dec.on_time)
    return Created(201, out, False)


def subscribers(ctx: AppContext, db_session: Session | Connection, owner: str) -> list[Subscriber]:
    """Active webhook subscriptions of ``owner``, cached per process for a few seconds and
    cleared on (un)subscribe in this process; with several server processes a new subscription
    gets the changes committed from at most ``subscription_cache`` seconds after it was made."""
    ids = ctx.subscription_cache.get(owner)
    if ids is None:
        ids = active_subscribers(session=db_session, owner=owner)
        ctx.subscription_cache[owner] = ids
    return ids


def load(db_session: Session, dispatch_id: str, tenant: str | None = None) -> Dispatch:
    """The dispatch; a 404 when it does not exist or (with ``tenant``) belongs to another
    organization, so ids of other organizations do not leak."""
    row = db_session.get(Dispatch, dispatch_id)
    if row is None or (tenant is not None and row.owner != tenant):
        raise Problem(404, "dispatch-not-found", "Dispatch not found",
                      f"no dispatch {dispatch_id!r}",
                      errors=[{"field": "path.dispatch_id", "message": "unknown dispatch id"}])
    return row


def answers(ctx: AppContext, db_session: Session, rows: list[Dispatch]) -> list[dict[str, Any]]:
    """The dispatches as the API shows them (:func:`render.dispatch_answers`): their events and
    repair orders in two queries for all rows, not two per row."""
    ids = [r.id for r in rows]
    events: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    repairs: dict[str, dict[str, Any]] = {}
    if ids:
        for e in db_session.execute(select(_E).where(_E.c.dispatch_id.in_(ids))
                                    .order_by(_E.c.id)):
            events[e.dispatch_id].append(render.event_out(e))
        for o in db_session.execute(select(_O).where(_O.c.dispatch_id.in_(ids),
                                                     _O.c.kind.in_(REPAIR_KINDS))):
            days = return_lead_days(ctx.scenario.part(o.part_id), o.kind)
            repairs[o.dispatch_id] = render.order_out(o, days)
    return render.dispatch_answers(rows, events, repairs)


def get_dispatch(ctx: AppContext, dispatch_id: str, *, db_session: Session,
                 tenant: str | None = None) -> dict[str, Any]:
    """One dispatch (of organization ``tenant`` only, if given)."""
    return answers(ctx, db_session, [load(db_session, dispatch_id, tenant)])[0]


def list_dispatches(ctx: AppContext, *, db_session: Session, ticket_id: str | None = None,
                    status: Status | None = None, at_risk: bool | None = None,
                    date_from: datetime | None = None, date_to: datetime | None = None,
                    limit: int = 100, after: str | None = None,
                    tenant: str | None = None) -> list[dict[str, Any]]:
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
    return answers(ctx, db_session, list(db_session.scalars(q)))
