"""Delivery of the webhook outbox: signed POSTs to checked addresses, retried with backoff.

:func:`deliver_due` claims the due messages, sends each once and reschedules failures at
``base * 2**(attempts-1)`` seconds (capped at an hour) until the retry horizon
(``webhook_retry_hours`` from the message's creation or its manual retry) has passed; then the
message is ``failed`` (logged; listed and retried through ``/v1/webhooks/{id}/deliveries``).
Messages survive a receiver outage and a server restart (they stay in the table until delivered).

Each send resolves the destination and checks every address first
(:mod:`api.webhooks.destinations`), then connects to the checked address itself (``Host`` and the
TLS server name stay the URL's host, so certificates are verified against it); no redirect is
followed and no proxy from the environment is used. Each message is signed with the instant it is
sent. The error recorded for the caller is ``HTTP <status>``, ``destination refused: ...`` or one
message for every transport failure (refused, reset, timeout, TLS), so deliveries cannot map
ports; the details go to the server log.

No transaction is open while a receiver is contacted, and a claim keeps a second worker (another
server process) off the same message; a pass that runs long hands its unsent claims back.
:class:`WebhookWorker` runs it in a thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
from sqlalchemy import Table, select, update

from api import observability
from api.context import ApiSettings, AppContext
from api.webhooks import destinations, signing
from inventory.db.dispatch_models import WebhookOutbox, WebhookSubscription

_OUT: Table = WebhookOutbox.__table__  # type: ignore[assignment]
_SUB: Table = WebhookSubscription.__table__  # type: ignore[assignment]

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
NO_ANSWER = "no HTTP answer (connection failed, timed out or TLS error)"
USER_AGENT = "spares-webhooks/1"
REMOVED = "subscription removed"

Clock = Callable[[], datetime]


def backoff_seconds(attempts: int) -> float:
    """Wait before the next try after ``attempts`` failed tries: 2, 4, 8 ... s, capped at 1 h."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class DeliveryReport:
    """Counts of one :func:`deliver_due` pass (``gave_up``: failures past the retry horizon)."""

    delivered: int
    failed: int
    gave_up: int


@lru_cache(maxsize=16)
def _allowed(entries: tuple[str, ...]) -> frozenset[str]:
    return destinations.allow_list(entries)


def allowed_origins(settings: ApiSettings) -> frozenset[str]:
    """The settings' allow-list as normalised origins."""
    return _allowed(tuple(settings.webhook_allow))


def resolver(settings: ApiSettings) -> destinations.Resolver:
    return settings.webhook_resolver or destinations.system_resolver


def new_client(settings: ApiSettings) -> httpx.Client:
    """The delivery client: no redirects followed, no proxy or netrc from the environment."""
    return httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                        trust_env=False, headers={"user-agent": USER_AGENT})


def post_pinned(client: httpx.Client, target: destinations.Target, ip: destinations.IPAddress,
                body: str, headers: dict[str, str]) -> int:
    """POST ``body`` to ``target`` over a connection to ``ip``; the answer's status code (the
    body is not read)."""
    url = httpx.URL(scheme=target.scheme, host=str(ip), port=target.port,
                    raw_path=target.raw_path.encode())
    extensions = ({"sni_hostname": target.host}
                  if target.scheme == "https" and target.literal is None else {})
    with client.stream("POST", url, content=body.encode(), extensions=extensions,
                       headers={**headers, "host": target.host_header}) as r:
        return r.status_code


@dataclass(frozen=True)
class _Message:
    id: str
    payload: str
    attempts: int
    created_at: datetime
    retry_from: datetime | None
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    active: bool

    def keys(self, at: datetime) -> list[str]:
        """The secrets that sign a message sent at ``at`` (the rotated-out one while it lasts)."""
        old, until = self.previous_secret, self.previous_secret_expires_at
        return [self.secret] + ([old] if old and until and _utc(until) > at else [])


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def send(client: httpx.Client, msg: _Message, settings: ApiSettings, at: datetime) -> str | None:
    """One try of ``msg``, signed at ``at``: None when the receiver answered 2xx, else the
    caller-safe reason."""
    if not msg.active:  # queued from a cached subscriber list just after the removal
        return REMOVED
    try:
        target = destinations.parse(msg.url, allowed_origins(settings))
        ip = destinations.pin(target, resolver(settings))
    except destinations.DestinationRefused as exc:
        log.warning("webhook message %s not sent: %s", msg.id, exc)
        return f"destination refused: {exc}"
    headers = {**signing.headers(msg.keys(at), msg.id, at, msg.payload),
               "content-type": "application/json"}
    try:
        status = post_pinned(client, target, ip, msg.payload, headers)
    except httpx.HTTPError as exc:
        log.info("webhook message %s to %s (%s): %s: %s", msg.id, target.origin, ip,
                 type(exc).__name__, exc)
        return NO_ANSWER
    return None if 200 <= status < 300 else f"HTTP {status}"


_COLUMNS = (_OUT.c.id, _OUT.c.payload, _OUT.c.attempts, _OUT.c.created_at, _OUT.c.retry_from,
            _OUT.c.next_attempt_at, _SUB.c.url, _SUB.c.secret, _SUB.c.previous_secret,
            _SUB.c.previous_secret_expires_at, _SUB.c.active)


def lease(settings: ApiSettings) -> timedelta:
    """How long a claim keeps other workers off a message; a pass sends for at most half of it
    and hands the rest back, so a slow pass never outlives its claims."""
    return timedelta(seconds=settings.webhook_timeout_seconds * 2 + 30)


def _claim(ctx: AppContext, where: Sequence[Any], now: datetime, batch: int) -> list[_Message]:
    """Move the matching due rows :func:`lease` ahead with a conditional UPDATE each, so a
    second worker (or process) skips them; the rows this call won."""
    until = now + lease(ctx.settings)
    with ctx.sessions(write=True) as session:
        due = session.execute(
            select(*_COLUMNS).join(_SUB, _SUB.c.id == _OUT.c.subscription_id)
            .where(*where).order_by(_OUT.c.created_at, _OUT.c.id).limit(batch)).all()
        return [_Message(m.id, m.payload, m.attempts, m.created_at, m.retry_from, m.url, m.secret,
                         m.previous_secret, m.previous_secret_expires_at, m.active)
                for m in due if session.execute(
                    update(_OUT).where(_OUT.c.id == m.id,
                                       _OUT.c.next_attempt_at == m.next_attempt_at,
                                       _OUT.c.delivered_at.is_(None), _OUT.c.failed_at.is_(None))
                    .values(next_attempt_at=until)).rowcount == 1]


def _record(ctx: AppContext, results: list[tuple[_Message, str | None]], unsent: list[_Message],
            now: datetime, *, retries: bool = True) -> DeliveryReport:
    """Write each outcome: delivered, the next try after :func:`backoff_seconds`, or failed when
    that try would fall after the retry horizon (or ``retries`` is off: a ping). ``unsent``
    claims go back, due at ``now``, their tries uncounted."""
    horizon = timedelta(hours=ctx.settings.webhook_retry_hours)
    delivered = failed = gave_up = 0
    with ctx.sessions(write=True) as session:
        if unsent:
            session.execute(update(_OUT).where(_OUT.c.id.in_([m.id for m in unsent]))
                            .values(next_attempt_at=now))
        for msg, err in results:
            attempts = msg.attempts + 1
            if err is None:
                values: dict[str, Any] = {"attempts": attempts, "delivered_at": now,
                                          "last_error": None}
                delivered += 1
            else:
                failed += 1
                nxt = now + timedelta(seconds=backoff_seconds(attempts))
                values = {"attempts": attempts, "last_error": err[:500], "next_attempt_at": nxt}
                if not retries or err == REMOVED or nxt > _utc(msg.retry_from or msg.created_at) + horizon:
                    values["failed_at"] = now  # a dead letter: .../deliveries?status=failed
                    gave_up += 1
                    log.warning("webhook message %s failed %d times, giving up: %s", msg.id,
                                attempts, err, extra={"message_id": msg.id, "attempts": attempts})
                else:
                    log.info("webhook message %s try %d failed: %s; next try at %s", msg.id,
                             attempts, err, nxt.isoformat(),
                             extra={"message_id": msg.id, "attempts": attempts})
            session.execute(update(_OUT).where(_OUT.c.id == msg.id).values(**values))
    observability.webhook_deliveries(delivered, failed, gave_up)
    return DeliveryReport(delivered, failed, gave_up)


def _send_all(ctx: AppContext, claimed: list[_Message], client: httpx.Client | None,
              clock: Clock) -> tuple[list[tuple[_Message, str | None]], list[_Message]]:
    """Send the claimed messages in order for at most half the lease: (message, outcome) of
    those sent, and the ones left unsent."""
    own = client is None
    client = client or new_client(ctx.settings)
    stop = time.monotonic() + lease(ctx.settings).total_seconds() / 2
    results: list[tuple[_Message, str | None]] = []
    try:
        for i, m in enumerate(claimed):
            if results and time.monotonic() > stop:
                return results, claimed[i:]
            results.append((m, send(client, m, ctx.settings, clock())))
        return results, []
    finally:
        if own:
            client.close()


def wall_clock() -> datetime:
    """The real time, which the outbox is scheduled and messages are signed by, whatever clock
    the app's decisions use (:meth:`api.context.AppContext.now`, pinned in tests): a receiver
    checks a signature's timestamp against its own clock (Standard Webhooks allows 5 minutes),
    so a message signed at a simulated instant could never be verified."""
    return datetime.now(UTC)


def deliver_due(ctx: AppContext, *, client: httpx.Client | None = None,
                now: datetime | None = None, batch: int = 100,
                clock: Clock | None = None) -> DeliveryReport:
    """Send the due outbox messages once each (oldest first).

    Three short steps, so no database transaction (and on SQLite no write lock) is held while a
    receiver is slow or down: claim the due rows, POST them (each signed with ``clock()`` read
    just before its own send), then record each outcome. A crash between claim and record
    re-sends the message once the lease has passed: delivery is at least once, and the
    ``webhook-id`` lets the receiver drop duplicates. ``now`` is the scheduling instant;
    ``now`` and ``clock`` default to :func:`wall_clock` (see there why not the app's clock).
    """
    clock = clock or wall_clock
    now = now or wall_clock()
    pending = (_OUT.c.delivered_at.is_(None), _OUT.c.failed_at.is_(None),
               _OUT.c.next_attempt_at <= now)
    with ctx.snapshot() as conn:  # idle polls take no write lock
        if conn.execute(select(_OUT.c.id).where(*pending).limit(1)).first() is None:
            return DeliveryReport(0, 0, 0)
    claimed = _claim(ctx, pending, now, batch)
    if not claimed:
        return DeliveryReport(0, 0, 0)
    return _record(ctx, *_send_all(ctx, claimed, client, clock), now)


def deliver_now(ctx: AppContext, message_id: str, *, client: httpx.Client | None = None,
                clock: Clock | None = None) -> DeliveryReport:
    """Try one pending message right away, once (the test ping): failed at once if that try
    fails."""
    clock = clock or wall_clock
    now = clock()
    claimed = _claim(ctx, (_OUT.c.id == message_id, _OUT.c.delivered_at.is_(None),
                           _OUT.c.failed_at.is_(None)), now, 1)
    return _record(ctx, *_send_all(ctx, claimed, client, clock), now, retries=False)


class WebhookWorker:
    """A daemon thread calling :func:`deliver_due` every ``poll_seconds``; a failing pass is
    logged with its traceback and the next pass tries again (the rows stay queued)."""

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
        with new_client(self.ctx.settings) as client:
            while not self._stop.is_set():
                try:
                    deliver_due(self.ctx, client=client)
                except Exception:
                    log.exception("webhook delivery pass failed; retrying in %.1f s",
                                  self.ctx.settings.webhook_poll_seconds)
                    self._stop.wait(self.ctx.settings.webhook_poll_seconds)
                self._stop.wait(self.ctx.settings.webhook_poll_seconds)
