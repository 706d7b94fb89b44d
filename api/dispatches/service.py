"""Dispatch use cases: create (decide + reserve + record, one transaction), events, reads.

Functions take the app context and a session as keywords and raise :class:`api.problems.Problem`
for anything the caller must fix.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.context import AppContext
from api.dispatches.enums import EventKind, Status, next_status
from api.dispatches.models import (
    DeadlineOut,
    DispatchCreate,
    DispatchOut,
    OrderOut,
    option_out,
)
from api.problems import Problem, field_problem
from api.stock import service as stock
from api.webhooks.service import enqueue, subscriptions
from inventory.db.dispatch_models import (
    Dispatch,
    DispatchEvent,
    DispatchOrder,
    IdempotencyRecord,
    as_utc,
)
from optimizer.deadlines import Deadline
from optimizer.dispatch import DispatchDecision, DispatchRequest, decide
from optimizer.dispatch.decide import request_deadline
from optimizer.dispatch.result import Outcome

MAX_RESERVE_ATTEMPTS = 8
"""Decide-and-reserve retries when another request took the chosen units in between."""


class _Raced(Exception):
    """The chosen units were taken between reading free stock and reserving."""


@dataclass(frozen=True)
class Created:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def request_hash(body: DispatchCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


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
    return DeadlineOut(due_at=d.due_at, clock_started_at=d.clock_started_at, milestone=d.milestone,
                       coverage=d.coverage, timezone=d.timezone,
                       holidays_skipped=[x.isoformat() for x in d.holidays_skipped],
                       cutoff_applied=d.cutoff_applied, explanation=d.text).model_dump(mode="json")


def decision_body(dispatch_id: str, body: DispatchCreate, dec: DispatchDecision,
                  created_at: datetime) -> dict[str, Any]:
    """The stored answer of a create: everything the decision said, JSON-ready."""
    ch = dec.chosen
    status = Status.BACKORDERED if dec.outcome is Outcome.BACKORDERED else Status.RESERVED
    order = dec.replenishment
    out = {
        "id": dispatch_id, "ticket_id": body.ticket_id, "status": status.value,
        "site_id": body.site_id, "part_id": body.part_id, "severity": body.severity,
        "quantity": body.quantity, "tier": dec.tier, "on_time": dec.on_time,
        "at_risk": not dec.on_time, "reason": dec.reason, "deadline": deadline_out(dec.deadline),
        "source_depot_id": ch.depot_id if ch else None, "mode_id": ch.mode_id if ch else None,
        "shipped_part_id": ch.part_id if ch else None, "substitute_part_id": dec.substitute_id,
        "eta": ch.arrives_at.isoformat() if ch else None,
        "margin_hours": None if ch is None or ch.margin_hours is None else round(ch.margin_hours, 3),
        "cost": ch.cost if ch else None,
        "expected_at": dec.expected_at.isoformat() if dec.expected_at else None,
        "chosen": option_out(ch) if ch else None,
        "alternatives": [option_out(o) for o in dec.alternatives],
        "replenishment_order": (OrderOut(kind=order.kind, depot_id=order.depot_id,
                                         part_id=order.part_id, quantity=order.quantity,
                                         from_id=order.from_id, expected_at=order.expected_at,
                                         lead_time_days=order.lead_time_days).model_dump(mode="json")
                                if order else None),
        "sla": {"outcome": None, "delta_hours": None, "delivered_at": None},
        "events": [],
        "created_at": created_at.isoformat(),
    }
    # one normal form (validated, datetimes as the API writes them) for POST, replays and GET
    return DispatchOut.model_validate(out).model_dump(mode="json")


def _stored(session: Session, owner: str, key: str, digest: str) -> Created | None:
    rec = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == owner,
                                                         IdempotencyRecord.key == key))
    if rec is None:
        return None
    if rec.request_hash != digest:
        raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                      "this Idempotency-Key was already used with a different request body",
                      errors=[{"field": "header.Idempotency-Key",
                               "message": "already used with a different body"}])
    return Created(rec.status_code, rec.body, True)


def create_dispatch(ctx: AppContext, body: DispatchCreate, *, owner: str,
                    idempotency_key: str) -> Created:
    """Decide and reserve in one transaction; replay the stored answer for a known key."""
    _check_known(ctx, body)
    digest = request_hash(body)
    req = DispatchRequest(body.site_id, body.part_id, body.severity, body.reported_at,
                          body.quantity, body.confirmed_at, body.approved_at)
    deadline = request_deadline(ctx.scenario, req)
    parts = [body.part_id, *ctx.scenario.substitutes_for(body.part_id)]
    for _ in range(MAX_RESERVE_ATTEMPTS):
        try:
            with ctx.sessions(write=True) as session:
                return _decide_and_record(ctx, session, body, req, deadline, parts, owner,
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


def _decide_and_record(ctx: AppContext, session: Session, body: DispatchCreate,
                       req: DispatchRequest, deadline: Deadline, parts: list[str], owner: str,
                       key: str, digest: str) -> Created:
    found = _stored(session, owner, key, digest)
    if found:
        return found
    now = datetime.now(UTC)
    free = stock.free_stock(session=session, part_ids=parts)
    dec = decide(req, scenario=ctx.scenario, network=ctx.network, free_stock=free,
                 levels=ctx.levels, deadline=deadline)
    dispatch_id = "dsp_" + secrets.token_hex(8)
    ch = dec.chosen
    if ch is not None and not stock.reserve(session=session, depot_id=ch.depot_id,
                                            part_id=ch.part_id, quantity=req.quantity,
                                            reference=dispatch_id, at=now):
        raise _Raced()
    out = decision_body(dispatch_id, body, dec, now)
    session.add(Dispatch(
        id=dispatch_id, ticket_id=body.ticket_id, owner=owner, site_id=body.site_id,
        part_id=body.part_id, shipped_part_id=ch.part_id if ch else None, severity=body.severity,
        quantity=body.quantity, tier=dec.tier, status=out["status"], reported_at=body.reported_at,
        due_at=deadline.due_at, source_depot_id=ch.depot_id if ch else None,
        mode_id=ch.mode_id if ch else None, eta=ch.arrives_at if ch else None,
        margin_hours=ch.margin_hours if ch else None, cost=ch.cost if ch else None,
        on_time=dec.on_time, reserved=ch is not None, decision=out, created_at=now, updated_at=now))
    if dec.replenishment is not None:
        o = dec.replenishment
        session.add(DispatchOrder(dispatch_id=dispatch_id, kind=o.kind, depot_id=o.depot_id,
                                  part_id=o.part_id, quantity=o.quantity, from_id=o.from_id,
                                  expected_at=o.expected_at, created_at=now))
    session.add(IdempotencyRecord(owner=owner, key=key, request_hash=digest, status_code=201,
                                  body=out, created_at=now))
    enqueue(session=session, owner=owner, event_type=f"dispatch.{out['status']}",
            data=_event_data(dispatch_id, body.ticket_id, out["status"], None, now),
            subscription_ids=_subscription_ids(ctx, session, owner))
    session.flush()  # a concurrent replay of the same key fails here, inside the retry loop
    return Created(201, out, False)


def _subscription_ids(ctx: AppContext, session: Session, owner: str) -> list[str]:
    """Active subscription ids of ``owner`` (cached for a few seconds, cleared on changes)."""
    ids = ctx.subscription_cache.get(owner)
    if ids is None:
        ids = [s.id for s in subscriptions(session=session, owner=owner)]
        ctx.subscription_cache[owner] = ids
    return ids


def _event_data(dispatch_id: str, ticket_id: str, status: str, event: str | None,
                at: datetime, **extra: Any) -> dict[str, Any]:
    return {"dispatch_id": dispatch_id, "ticket_id": ticket_id, "status": status, "event": event,
            "at": at.isoformat(), **extra}


def _load(session: Session, dispatch_id: str) -> Dispatch:
    row = session.get(Dispatch, dispatch_id)
    if row is None:
        raise Problem(404, "dispatch-not-found", "Dispatch not found",
                      f"no dispatch {dispatch_id!r}",
                      errors=[{"field": "path.dispatch_id", "message": "unknown dispatch id"}])
    return row


def dispatch_view(session: Session, row: Dispatch) -> dict[str, Any]:
    """The stored decision plus the live status, SLA outcome and events."""
    out = dict(row.decision)
    out["status"] = row.status
    out["sla"] = {"outcome": row.sla_outcome, "delta_hours": row.sla_delta_hours,
                  "delivered_at": (as_utc(row.delivered_at).isoformat()
                                   if row.delivered_at else None)}
    events = session.scalars(select(DispatchEvent).where(DispatchEvent.dispatch_id == row.id)
                             .order_by(DispatchEvent.id))
    out["events"] = [{"kind": e.kind, "at": as_utc(e.at).isoformat(), "note": e.note,
                      "recorded_at": as_utc(e.recorded_at).isoformat()} for e in events]
    return out


def get_dispatch(ctx: AppContext, dispatch_id: str) -> dict[str, Any]:
    with ctx.sessions() as session:
        return dispatch_view(session, _load(session, dispatch_id))


def list_dispatches(ctx: AppContext, *, ticket_id: str | None = None, status: Status | None = None,
                    at_risk: bool | None = None, date_from: datetime | None = None,
                    date_to: datetime | None = None, limit: int = 100,
                    offset: int = 0) -> list[dict[str, Any]]:
    """Dispatches filtered by ticket, status, at-risk flag and reported_at in [from, to)."""
    q = select(Dispatch)
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
    q = q.order_by(Dispatch.reported_at, Dispatch.id).limit(limit).offset(offset)
    with ctx.sessions() as session:
        return [dispatch_view(session, r) for r in session.scalars(q)]


def record_event(ctx: AppContext, dispatch_id: str, kind: EventKind, at: datetime,
                 note: str | None = None) -> dict[str, Any]:
    """Apply one lifecycle event: guard the transition, move stock, fix the SLA outcome."""
    with ctx.sessions(write=True) as session:
        row = _load(session, dispatch_id)
        current = Status(row.status)
        target = next_status(current, kind)
        if target is None:
            raise Problem(409, "illegal-transition", "Illegal status transition",
                          f"a dispatch in status {current.value!r} cannot take event {kind.value!r}",
                          errors=[{"field": "body.kind",
                                   "message": f"not allowed from {current.value}"}])
        now = datetime.now(UTC)
        # guard against a concurrent event: only one UPDATE from `current` can win
        won = session.execute(update(Dispatch).where(Dispatch.id == row.id,
                                                     Dispatch.status == current.value)
                              .values(status=target.value, updated_at=now)).rowcount
        if won != 1:
            raise Problem(409, "concurrent-transition", "Concurrent status change",
                          "the dispatch changed status meanwhile; read it and retry")
        session.refresh(row)
        extra: dict[str, Any] = {}
        _apply_stock(session, row, kind, at, now)
        if kind is EventKind.DELIVERED:
            extra = _fix_sla(row, at)
        elif kind is EventKind.DEFECTIVE_RECEIVED:
            extra = {"repair_order": _open_repair(ctx, session, row, at)}
        session.add(DispatchEvent(dispatch_id=row.id, kind=kind.value, at=at, note=note,
                                  recorded_at=now))
        enqueue(session=session, owner=row.owner, event_type=f"dispatch.{target.value}",
                data=_event_data(row.id, row.ticket_id, target.value, kind.value, at, **extra),
                subscription_ids=_subscription_ids(ctx, session, row.owner))
        session.flush()
        return dispatch_view(session, row)


def _apply_stock(session: Session, row: Dispatch, kind: EventKind, at: datetime,
                 now: datetime) -> None:
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


def _fix_sla(row: Dispatch, delivered_at: datetime) -> dict[str, Any]:
    """Met when delivered by the due time (always met without a part deadline)."""
    row.delivered_at = delivered_at
    due = as_utc(row.due_at)
    if due is None:
        row.sla_outcome, row.sla_delta_hours = "met", None
    else:
        delta = (due - delivered_at) / timedelta(hours=1)
        row.sla_outcome = "met" if delta >= 0 else "missed"
        row.sla_delta_hours = round(delta, 3)
    return {"sla_outcome": row.sla_outcome, "sla_delta_hours": row.sla_delta_hours}


def _open_repair(ctx: AppContext, session: Session, row: Dispatch, at: datetime) -> dict[str, Any]:
    """A repair order for the returned unit (repairable parts), else a scrap note."""
    part = ctx.scenario.part(row.part_id)
    depot = row.source_depot_id or ctx.scenario.site(row.site_id).primary_depot_id
    kind = "repair" if part.repairable else "scrap"
    days = part.repair_turnaround_days if part.repairable else 0.0
    order = DispatchOrder(dispatch_id=row.id, kind=kind, depot_id=ctx.scenario.hq.depot_id,
                          part_id=row.part_id, quantity=row.quantity, from_id=depot,
                          expected_at=at + timedelta(days=days), created_at=datetime.now(UTC))
    session.add(order)
    return {"kind": kind, "part_id": row.part_id, "quantity": row.quantity, "from_id": depot,
            "expected_at": (at + timedelta(days=days)).isoformat()}
