"""Webhook subscriptions and the transactional outbox.

:func:`enqueue` writes one outbox row per active subscription of the owner, in the caller's
transaction, so a status change and its notification commit (or roll back) together.
:func:`deliveries` lists a subscription's messages by status (``failed``: every try used, the
dead letters) and :func:`retry` queues a failed one again.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from api.webhooks.models import DeliveryStatus
from api.webhooks.signing import new_secret
from inventory.db.dispatch_models import WebhookOutbox, WebhookSubscription


def subscribe(*, session: Session, owner: str, url: str) -> WebhookSubscription:
    row = WebhookSubscription(id="whs_" + secrets.token_hex(8), owner=owner, url=url,
                              secret=new_secret(), active=True, created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row


def subscriptions(*, session: Session, owner: str) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).where(
        WebhookSubscription.owner == owner, WebhookSubscription.active.is_(True))))


def active_subscription_ids(*, session: Session | Connection, owner: str) -> list[str]:
    """Ids of the active subscriptions of ``owner`` (Core: works on a session or a connection)."""
    t = WebhookSubscription.__table__
    return list(session.scalars(select(t.c.id).where(t.c.owner == owner, t.c.active.is_(True))))


def unsubscribe(*, session: Session, owner: str, subscription_id: str) -> bool:
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or row.owner != owner or not row.active:
        return False
    row.active = False
    return True


def enqueue(*, session: Session | Connection, owner: str, event_type: str, data: dict[str, Any],
            subscription_ids: list[str] | None = None, now: datetime | None = None) -> int:
    """Queue ``event_type`` for every active subscription of ``owner`` (or the given ids, when the
    caller knows them from a cache) in the caller's transaction; returns the count."""
    now = now or datetime.now(UTC)
    if subscription_ids is None:
        subscription_ids = active_subscription_ids(session=session, owner=owner)
    if not subscription_ids:
        return 0
    payload = json.dumps({"type": event_type,
                          "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                          "data": data}, separators=(",", ":"))
    session.execute(WebhookOutbox.__table__.insert(), [
        {"id": "msg_" + secrets.token_hex(10), "subscription_id": sub_id, "event_type": event_type,
         "payload": payload, "created_at": now, "attempts": 0, "next_attempt_at": now,
         "delivered_at": None, "last_error": None} for sub_id in subscription_ids])
    return len(subscription_ids)


_OUT = WebhookOutbox.__table__


def delivery_status(row: Any, max_attempts: int) -> DeliveryStatus:
    """Delivered, failed (no try left) or pending, from the outbox columns."""
    if row.delivered_at is not None:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.FAILED if row.attempts >= max_attempts else DeliveryStatus.PENDING


def delivery_out(row: Any, max_attempts: int) -> dict[str, Any]:
    """An outbox row in the shape of :class:`api.webhooks.models.DeliveryOut` (JSON-ready)."""
    status = delivery_status(row, max_attempts)
    return {"id": row.id, "event_type": row.event_type, "status": status.value,
            "attempts": row.attempts, "last_error": row.last_error,
            "created_at": iso(row.created_at),
            "next_attempt_at": iso(row.next_attempt_at)
            if status is DeliveryStatus.PENDING else None,
            "delivered_at": iso(row.delivered_at), "payload": json.loads(row.payload)}


def iso(t: datetime | None) -> str | None:
    """A stored instant as ISO 8601 UTC with ``Z`` (SQLite gives naive UTC)."""
    if t is None:
        return None
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _status_filter(status: DeliveryStatus, max_attempts: int) -> tuple[Any, ...]:
    c = _OUT.c
    if status is DeliveryStatus.DELIVERED:
        return (c.delivered_at.is_not(None),)
    if status is DeliveryStatus.FAILED:
        return (c.delivered_at.is_(None), c.attempts >= max_attempts)
    return (c.delivered_at.is_(None), c.attempts < max_attempts)


def deliveries(*, session: Session, subscription_id: str, max_attempts: int,
               status: DeliveryStatus | None = None, limit: int = 100,
               offset: int = 0) -> list[dict[str, Any]]:
    """Messages of a subscription, newest first, optionally of one status."""
    q = select(_OUT).where(_OUT.c.subscription_id == subscription_id)
    if status is not None:
        q = q.where(*_status_filter(status, max_attempts))
    q = q.order_by(_OUT.c.created_at.desc(), _OUT.c.id.desc()).limit(limit).offset(offset)
    return [delivery_out(r, max_attempts) for r in session.execute(q)]


def retry(*, session: Session, subscription_id: str, message_id: str, max_attempts: int,
          now: datetime) -> dict[str, Any] | None:
    """Queue a failed message again (tries reset to 0, due now; the last error stays until a try
    succeeds). None when the subscription has no such failed message."""
    won = session.execute(
        update(_OUT).where(_OUT.c.id == message_id, _OUT.c.subscription_id == subscription_id,
                           *_status_filter(DeliveryStatus.FAILED, max_attempts))
        .values(attempts=0, next_attempt_at=now)).rowcount
    if won != 1:
        return None
    row = session.execute(select(_OUT).where(_OUT.c.id == message_id)).one()
    return delivery_out(row, max_attempts)


def message(*, session: Session, subscription_id: str, message_id: str) -> Any:
    """The outbox row ``message_id`` of the subscription, or None."""
    return session.execute(select(_OUT).where(_OUT.c.id == message_id,
                                              _OUT.c.subscription_id == subscription_id)).first()
