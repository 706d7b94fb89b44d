"""Delivery of the webhook outbox: signed POSTs with retries and exponential backoff.

:func:`deliver_due` claims the due messages, sends each once and reschedules failures at
``base * 2**(attempts-1)`` seconds (capped at an hour, at most ``webhook_max_attempts`` tries), so
messages survive a receiver outage and a server restart (they stay in the table until delivered).
A message that used every try is ``failed`` (logged; listed and retried through
``/v1/webhooks/{id}/deliveries``).
No transaction is open while a receiver is contacted, and a claim keeps a second worker (another
server process) off the same message. :class:`WebhookWorker` runs it in a thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Table, select, update

from api.context import AppContext
from api.webhooks.signing import sign
from inventory.db.dispatch_models import WebhookOutbox, WebhookSubscription

_OUT: Table = WebhookOutbox.__table__  # type: ignore[assignment]
_SUB: Table = WebhookSubscription.__table__  # type: ignore[assignment]

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0


def backoff_seconds(attempts: int) -> float:
    """Wait before the next try after ``attempts`` failed tries: 2, 4, 8 ... s, capped at 1 h."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class DeliveryReport:
    """Counts of one :func:`deliver_due` pass (``gave_up``: failures that used the last try)."""

    delivered: int
    failed: int
    gave_up: int


def deliver_due(ctx: AppContext, *, client: httpx.Client | None = None,
                now: datetime | None = None, batch: int = 100) -> DeliveryReport:
    """Send the due outbox messages once each (oldest first).

    Three short steps, so no database transaction (and on SQLite no write lock) is held while a
    receiver is slow or down: claim the due rows (each moved ``lease`` ahead with a conditional
    UPDATE, so a second worker or process skips them), POST them, then record each outcome
    (delivered, or the next attempt after :func:`backoff_seconds`). A crash between claim and
    record re-sends the message once the lease has passed: delivery is at least once, and the
    ``webhook-id`` lets the receiver drop duplicates.
    """
    now = now or datetime.now(UTC)
    settings = ctx.settings
    lease = timedelta(seconds=settings.webhook_timeout_seconds * 2 + 30)
    pending = (_OUT.c.delivered_at.is_(None), _OUT.c.next_attempt_at <= now,
               _OUT.c.attempts < settings.webhook_max_attempts)
    with (ctx.read_engine or ctx.engine).connect() as conn:  # idle polls take no write lock
        if conn.execute(select(_OUT.c.id).where(*pending).limit(1)).first() is None:
            return DeliveryReport(0, 0, 0)
    with ctx.sessions(write=True) as session:
        due = session.execute(
            select(_OUT.c.id, _OUT.c.payload, _OUT.c.attempts, _OUT.c.next_attempt_at,
                   _SUB.c.url, _SUB.c.secret)
            .join(_SUB, _SUB.c.id == _OUT.c.subscription_id)
            .where(*pending)
            .order_by(_OUT.c.created_at, _OUT.c.id).limit(batch)).all()
        claimed = [m for m in due if session.execute(
            update(_OUT).where(_OUT.c.id == m.id, _OUT.c.next_attempt_at == m.next_attempt_at,
                               _OUT.c.delivered_at.is_(None))
            .values(next_attempt_at=now + lease)).rowcount == 1]
    if not claimed:
        return DeliveryReport(0, 0, 0)
    own = client is None
    client = client or httpx.Client(timeout=settings.webhook_timeout_seconds)
    results: list[tuple[str, int, str | None]] = []
    try:
        for m in claimed:
            ts = int(now.timestamp())
            headers = {"webhook-id": m.id, "webhook-timestamp": str(ts),
                       "webhook-signature": sign(m.secret, m.id, ts, m.payload),
                       "content-type": "application/json"}
            try:
                r = client.post(m.url, content=m.payload, headers=headers)
                err = None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                err = f"{type(exc).__name__}: {exc}"
            results.append((m.id, m.attempts + 1, err))
    finally:
        if own:
            client.close()
    delivered = failed = gave_up = 0
    with ctx.sessions(write=True) as session:
        for msg_id, attempts, err in results:
            if err is None:
                values = {"attempts": attempts, "delivered_at": now, "last_error": None}
                delivered += 1
            else:
                values = {"attempts": attempts, "last_error": err[:500],
                          "next_attempt_at": now + timedelta(seconds=backoff_seconds(attempts))}
                failed += 1
                if attempts >= settings.webhook_max_attempts:
                    gave_up += 1  # a dead letter: GET /v1/webhooks/{id}/deliveries?status=failed
                    log.warning("webhook message %s failed %d times, giving up: %s", msg_id,
                                attempts, err)
            session.execute(update(_OUT).where(_OUT.c.id == msg_id).values(**values))
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
