"""Webhook subscriptions and the transactional outbox.

:func:`enqueue` writes one outbox row per active subscription of the owner whose event-type filter
takes the event, in the caller's transaction, so a status change and its notification commit (or
roll back) together. :func:`subscribe` enforces the per-owner cap (the route has checked the
destination with :mod:`api.webhooks.destinations`); :func:`rotate_secret` keeps the old secret
signing for an overlap window.
Lists are keyset pages (:mod:`api.pagination`) in a stable order.
:func:`deliveries` lists a subscription's messages by status (``failed``: the dead letters) and
:func:`retry` queues a failed one again.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from api import pagination
from api.problems import Problem, field_problem
from api.webhooks.events import PING
from api.webhooks.models import DeliveryStatus
from api.webhooks.signing import new_secret
from api.webhooks.worker import wall_clock
from inventory.db.dispatch_models import WebhookOutbox, WebhookSubscription

_OUT: Table = WebhookOutbox.__table__  # type: ignore[assignment]
_SUB: Table = WebhookSubscription.__table__  # type: ignore[assignment]

PING_GRACE = timedelta(minutes=1)


class Subscriber(NamedTuple):
    """An active subscription as :func:`enqueue` needs it (cheap to cache per owner)."""

    id: str
    event_types: frozenset[str] | None
    """the types it takes; None: all"""

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types


def active_subscribers(*, session: Session | Connection, owner: str) -> list[Subscriber]:
    """The active subscriptions of ``owner`` (Core: works on a session or a connection)."""
    rows = session.execute(select(_SUB.c.id, _SUB.c.event_types)
                           .where(_SUB.c.owner == owner, _SUB.c.active.is_(True)))
    return [Subscriber(r.id, None if r.event_types is None else frozenset(r.event_types))
            for r in rows]


def _lock_owner(session: Session, owner: str) -> None:
    """Serialise subscription changes of one owner, so two creates cannot both pass the cap
    (PostgreSQL: a transaction advisory lock; SQLite's write transactions are serial anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                        {"k": "webhooks:" + owner})


def created_with(*, session: Session, owner: str, idempotency_key: str, url: str,
                 event_types: Sequence[str] | None) -> WebhookSubscription | None:
    """The subscription ``owner`` created with ``idempotency_key`` (a retried create), or None;
    a 422 naming the header when that create asked for another URL or event types. Takes the
    owner's lock, so a concurrent create with the key waits and then finds it."""
    _lock_owner(session, owner)
    row = session.scalar(select(WebhookSubscription).where(
        WebhookSubscription.owner == owner, WebhookSubscription.idempotency_key == idempotency_key))
    if row is None:
        return None
    types = None if event_types is None else sorted({str(t) for t in event_types})
    if (row.url, row.event_types) != (url, types):
        raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                      "this Idempotency-Key was already used with a different request body",
                      errors=[{"field": "header.Idempotency-Key",
                               "message": "already used with a different body"}])
    return row


def subscribe(*, session: Session, owner: str, url: str, event_types: Sequence[str] | None,
              max_subscriptions: int, now: datetime,
              idempotency_key: str | None = None) -> WebhookSubscription:
    """A new active subscription (its URL already checked); a 409 when ``owner`` already has
    ``max_subscriptions`` active ones. ``idempotency_key``: stored with it (see
    :func:`created_with`)."""
    _lock_owner(session, owner)
    active = session.scalar(select(func.count()).select_from(_SUB).where(
        _SUB.c.owner == owner, _SUB.c.active.is_(True)))
    if active is not None and active >= max_subscriptions:
        raise Problem(409, "subscription-limit", "Too many subscriptions",
                      f"this organization has {active} active webhook subscriptions, the most "
                      "allowed; remove one (DELETE /v1/webhooks/{id}) first",
                      errors=[{"field": "body.url", "message": f"limit {max_subscriptions}"}])
    types = None if event_types is None else sorted({str(t) for t in event_types})
    row = WebhookSubscription(id="whs_" + secrets.token_hex(8), owner=owner, url=url,
                              secret=new_secret(), active=True, created_at=now,
                              event_types=types, idempotency_key=idempotency_key)
    session.add(row)
    session.flush()
    return row


def unsubscribe(*, session: Session, owner: str, subscription_id: str, now: datetime) -> bool:
    """Deactivate the subscription; its undelivered messages are marked failed (nothing more is
    sent to it). False when ``owner`` has no such active subscription."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or row.owner != owner or not row.active:
        return False
    row.active = False
    session.execute(update(_OUT).where(_OUT.c.subscription_id == subscription_id,
                                       *_status_filter(DeliveryStatus.PENDING))
                    .values(failed_at=now, last_error="subscription removed"))
    return True


def rotate_secret(*, row: WebhookSubscription, overlap: timedelta, now: datetime) -> str:
    """Give the subscription a new secret; the current one keeps signing beside it for
    ``overlap`` (none when zero). A secret still overlapping from an earlier rotation is dropped."""
    if overlap > timedelta(0):
        row.previous_secret, row.previous_secret_expires_at = row.secret, now + overlap
    else:
        row.previous_secret, row.previous_secret_expires_at = None, None
    row.secret = new_secret()
    return row.secret


def subscription_out(row: Any, *, secret: bool = False) -> dict[str, Any]:
    """A subscription in the shape of :class:`api.webhooks.models.SubscriptionOut`."""
    return {"id": row.id, "url": row.url, "active": row.active, "created_at": iso(row.created_at),
            "event_types": row.event_types,
            "previous_secret_expires_at": iso(row.previous_secret_expires_at),
            "secret": row.secret if secret else None}


def subscription_page(*, session: Session, owner: str, limit: int,
                      cursor: str | None) -> dict[str, Any]:
    """The active subscriptions of ``owner``, oldest first."""
    q = select(_SUB).where(_SUB.c.owner == owner, _SUB.c.active.is_(True))
    after = _after("webhooks", cursor)
    if after is not None:
        at, last_id = after
        q = q.where(or_(_SUB.c.created_at > at, and_(_SUB.c.created_at == at, _SUB.c.id > last_id)))
    rows = session.execute(q.order_by(_SUB.c.created_at, _SUB.c.id).limit(limit + 1)).all()
    return pagination.page("webhooks", rows, limit, _key,
                           lambda rs: [subscription_out(r) for r in rs])


def enqueue(*, session: Session | Connection, owner: str, event_type: str, data: dict[str, Any],
            subscribers: Sequence[Subscriber] | None = None, now: datetime | None = None) -> int:
    """Queue ``event_type`` for every active subscription of ``owner`` that takes it (or of the
    given ``subscribers``, when the caller has them cached) in the caller's transaction;
    returns the count. ``now``: the event's instant by the app's clock (the payload's
    ``timestamp``); the message is scheduled by the real time (:func:`_insert`)."""
    now = now or wall_clock()
    if subscribers is None:
        subscribers = active_subscribers(session=session, owner=owner)
    ids = [s.id for s in subscribers if s.wants(event_type)]
    if ids:
        _insert(session, ids, event_type, data, now)
    return len(ids)


def enqueue_ping(*, session: Session, subscription_id: str, now: datetime) -> str:
    """Queue a ``webhook.ping`` for one subscription (whatever its filter); its message id.
    It is due a minute later, so the caller sends it first and the worker only when the
    caller could not (a crash in between)."""
    return _insert(session, [subscription_id], PING, {"subscription_id": subscription_id}, now,
                   due=now + PING_GRACE)[0]


def _insert(session: Session | Connection, subscription_ids: list[str], event_type: str,
            data: dict[str, Any], now: datetime, due: datetime | None = None) -> list[str]:
    """Outbox rows stamped ``now`` in the payload, created and due by the real time
    (:func:`api.webhooks.worker.wall_clock`: the worker schedules and signs by it) unless
    ``due`` says otherwise."""
    payload = json.dumps({"type": event_type, "timestamp": iso(now), "data": data},
                         separators=(",", ":"))
    queued = wall_clock()
    rows = [{"id": "msg_" + secrets.token_hex(10), "subscription_id": sub_id,
             "event_type": event_type, "payload": payload, "created_at": queued, "attempts": 0,
             "next_attempt_at": due or queued, "delivered_at": None, "last_error": None}
            for sub_id in subscription_ids]
    session.execute(_OUT.insert(), rows)
    return [r["id"] for r in rows]


def delivery_status(row: Any) -> DeliveryStatus:
    """Delivered, failed (given up) or pending, from the outbox columns."""
    if row.delivered_at is not None:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.FAILED if row.failed_at is not None else DeliveryStatus.PENDING


def delivery_out(row: Any) -> dict[str, Any]:
    """An outbox row in the shape of :class:`api.webhooks.models.DeliveryOut` (JSON-ready)."""
    status = delivery_status(row)
    return {"id": row.id, "event_type": row.event_type, "status": status.value,
            "attempts": row.attempts, "last_error": row.last_error,
            "created_at": iso(row.created_at),
            "next_attempt_at": iso(row.next_attempt_at)
            if status is DeliveryStatus.PENDING else None,
            "delivered_at": iso(row.delivered_at), "failed_at": iso(row.failed_at),
            "payload": json.loads(row.payload)}


def iso(t: datetime | None) -> str | None:
    """A stored instant as ISO 8601 UTC with ``Z`` (SQLite gives naive UTC)."""
    if t is None:
        return None
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _status_filter(status: DeliveryStatus) -> tuple[Any, ...]:
    c = _OUT.c
    if status is DeliveryStatus.DELIVERED:
        return (c.delivered_at.is_not(None),)
    if status is DeliveryStatus.FAILED:
        return (c.delivered_at.is_(None), c.failed_at.is_not(None))
    return (c.delivered_at.is_(None), c.failed_at.is_(None))


def deliveries(*, session: Session, subscription_id: str, status: DeliveryStatus | None = None,
               limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
    """Messages of a subscription, newest first, optionally of one status."""
    c = _OUT.c
    q = select(_OUT).where(c.subscription_id == subscription_id)
    if status is not None:
        q = q.where(*_status_filter(status))
    after = _after("deliveries", cursor)
    if after is not None:
        at, last_id = after
        q = q.where(or_(c.created_at < at, and_(c.created_at == at, c.id < last_id)))
    rows = session.execute(q.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)).all()
    return pagination.page("deliveries", rows, limit, _key,
                           lambda rs: [delivery_out(r) for r in rs])


def retry(*, session: Session, subscription_id: str, message_id: str,
          now: datetime) -> dict[str, Any] | None:
    """Queue a failed message again (tries reset to 0, due now, its retry horizon counted from
    now; the last error stays until a try succeeds). None when the subscription has no such
    failed message."""
    won = session.execute(
        update(_OUT).where(_OUT.c.id == message_id, _OUT.c.subscription_id == subscription_id,
                           *_status_filter(DeliveryStatus.FAILED))
        .values(attempts=0, next_attempt_at=now, failed_at=None, retry_from=now)).rowcount
    if won != 1:
        return None
    return delivery_out(session.execute(select(_OUT).where(_OUT.c.id == message_id)).one())


def message(*, session: Session, subscription_id: str, message_id: str) -> Any:
    """The outbox row ``message_id`` of the subscription, or None."""
    return session.execute(select(_OUT).where(_OUT.c.id == message_id,
                                              _OUT.c.subscription_id == subscription_id)).first()


def _after(tag: str, cursor: str | None) -> tuple[datetime, str] | None:
    """The (created_at, id) a cursor of list ``tag`` stands for (None without one); a 422 on
    ``query.cursor`` for anything else."""
    key = pagination.decode(tag, cursor, (str, str))
    if key is None:
        return None
    try:
        when = datetime.fromisoformat(key[0])
        if when.tzinfo is None or not re.fullmatch(r"[a-z]{3}_[0-9a-f]{1,40}", key[1]):
            raise ValueError
        return when.astimezone(UTC), key[1]
    except (ValueError, OverflowError):
        raise field_problem(422, "query.cursor", "not a cursor of this list: pass the "
                                                 "next_cursor of a previous page",
                            "invalid-cursor") from None


def _key(row: Any) -> tuple[str | None, str]:
    return iso(row.created_at), row.id
