"""Delivery of the webhook outbox: signed POSTs with retries and exponential backoff.

:func:`deliver_due` sends every due message once and reschedules failures at
``base * 2**(attempts-1)`` seconds (capped), so messages survive a receiver outage and a server
restart (they stay in the table until delivered). :class:`WebhookWorker` runs it in a thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import or_, select

from api.context import AppContext
from api.webhooks.signing import sign
from inventory.db.dispatch_models import WebhookOutbox, WebhookSubscription

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0


def backoff_seconds(attempts: int) -> float:
    """Wait before the next try after ``attempts`` failed tries: 2, 4, 8 ... s, capped at 1 h."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int
    gave_up: int


def deliver_due(ctx: AppContext, *, client: httpx.Client | None = None,
                now: datetime | None = None, batch: int = 100) -> DeliveryReport:
    """Send the due outbox messages once each (oldest first)."""
    now = now or datetime.now(UTC)
    own = client is None
    client = client or httpx.Client(timeout=ctx.settings.webhook_timeout_seconds)
    delivered = failed = gave_up = 0
    try:
        with ctx.sessions() as session:
            rows = session.execute(
                select(WebhookOutbox, WebhookSubscription)
                .join(WebhookSubscription, WebhookSubscription.id == WebhookOutbox.subscription_id)
                .where(WebhookOutbox.delivered_at.is_(None),
                       WebhookOutbox.next_attempt_at <= now,
                       or_(WebhookOutbox.attempts < ctx.settings.webhook_max_attempts))
                .order_by(WebhookOutbox.created_at).limit(batch)).all()
            for msg, sub in rows:
                ts = int(now.timestamp())
                headers = {"webhook-id": msg.id, "webhook-timestamp": str(ts),
                           "webhook-signature": sign(sub.secret, msg.id, ts, msg.payload),
                           "content-type": "application/json"}
                try:
                    r = client.post(sub.url, content=msg.payload, headers=headers)
                    ok, err = 200 <= r.status_code < 300, f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    ok, err = False, f"{type(exc).__name__}: {exc}"
                msg.attempts += 1
                if ok:
                    msg.delivered_at, msg.last_error = now, None
                    delivered += 1
                else:
                    msg.last_error = err[:500]
                    msg.next_attempt_at = now + timedelta(seconds=backoff_seconds(msg.attempts))
                    failed += 1
                    gave_up += msg.attempts >= ctx.settings.webhook_max_attempts
    finally:
        if own:
            client.close()
    return DeliveryReport(delivered, failed, gave_up)


class WebhookWorker:
    """A daemon thread calling :func:`deliver_due` every ``poll_seconds``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=self.ctx.settings.webhook_timeout_seconds) as client:
            while not self._stop.is_set():
                try:
                    deliver_due(self.ctx, client=client)
                except Exception:  # noqa: BLE001 - keep the worker alive; the rows stay queued
                    time.sleep(self.ctx.settings.webhook_poll_seconds)
                self._stop.wait(self.ctx.settings.webhook_poll_seconds)
