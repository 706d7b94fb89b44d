"""Webhook subscriptions and the transactional outbox.

:func:`enqueue` writes one outbox row per active subscription of the owner, in the caller's
transaction, so a status change and its notification commit (or roll back) together.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

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
