"""Tables of the dispatch service: organizations and their API keys, dispatches (each carrying
the Idempotency-Key that created it), their events and orders, webhook subscriptions and the
webhook outbox.

Times are :class:`~inventory.db.base.UtcDateTime` (aware UTC on every backend); :func:`as_utc`
normalises instants that did not come from the database. Stock itself lives in the ledger tables
(:mod:`inventory.ledger`); a dispatch only records what it reserved there (``source_depot_id``,
``shipped_part_id``, ``quantity``, ``reserved``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db.base import Base, UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored instant as an aware UTC datetime (SQLite returns naive UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Dispatch(Base):
    """One part dispatch for a ticket, with the decision that made it and its SLA outcome.

    ``owner`` is the organization (:class:`Organization`) of the key that created it;
    ``(owner, idempotency_key)`` is unique: a replay of the create with the same key finds this
    row, compares ``request_hash`` (SHA-256 of the canonical request body) and answers
    ``decision``, the stored create answer. ``redecision`` holds the later decision that moved a
    backorder to ``reserved`` (source, mode, ETA recomputed when stock came free).
    """

    __tablename__ = "dispatches"
    __table_args__ = (UniqueConstraint("owner", "idempotency_key",
                                       name="uq_dispatches_owner_idempotency_key"),
                      # the create's duplicate-ticket check
                      Index("ix_dispatches_owner_ticket_part", "owner", "ticket_id", "part_id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(200), index=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[str] = mapped_column(String(100))
    part_id: Mapped[str] = mapped_column(String(100))
    shipped_part_id: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(30), index=True)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    source_depot_id: Mapped[str | None] = mapped_column(String(100))
    mode_id: Mapped[str | None] = mapped_column(String(100))
    eta: Mapped[datetime | None] = mapped_column(UtcDateTime)
    margin_hours: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    on_time: Mapped[bool] = mapped_column(Boolean)
    reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_outcome: Mapped[str | None] = mapped_column(String(10))
    sla_delta_hours: Mapped[float | None] = mapped_column(Float)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision: Mapped[dict] = mapped_column(JSON)
    redecision: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    """The decision that filled a backorder (or an explicit re-decision), shown by GET; the
    create answer in ``decision`` stays what an Idempotency-Key replay returns."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DispatchEvent(Base):
    """A lifecycle event of a dispatch (picked, shipped, delivered, defective_received, cancelled)."""

    __tablename__ = "dispatch_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispatch_id: Mapped[str] = mapped_column(ForeignKey("dispatches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DispatchOrder(Base):
    """A replenishment (transfer/buy), repair or scrap order, opened by a dispatch
    (``dispatch_id``) or by the approval of a quarterly restock run (``restock_run_id`` with
    ``restock_line``, the line of the run's order tables: ``T3``, ``R0``, ``B12``); exactly one
    of the two is set. ``(restock_run_id, restock_line)`` is unique: an approval creates each
    line's order once. ``value``: what the order is worth in the scenario currency (restock
    orders: a buy's amount, a transfer's stock value, a repair's cost)."""

    __tablename__ = "dispatch_orders"
    __table_args__ = (
        UniqueConstraint("restock_run_id", "restock_line",
                         name="uq_dispatch_orders_restock_run_id"),
        CheckConstraint("(dispatch_id IS NULL) <> (restock_run_id IS NULL)", name="origin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispatch_id: Mapped[str | None] = mapped_column(ForeignKey("dispatches.id"), index=True)
    restock_run_id: Mapped[str | None] = mapped_column(ForeignKey("restock_runs.id"), index=True)
    restock_line: Mapped[str | None] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))  # transfer | buy | repair
    depot_id: Mapped[str] = mapped_column(String(100))
    part_id: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    from_id: Mapped[str] = mapped_column(String(100))
    expected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


DEFAULT_ORGANIZATION_ID = "org_default"
"""The organization that keys and data from before tenants were introduced belong to."""


class Organization(Base):
    """A tenant (a ticket-system integration, a partner): it owns API keys, dispatches (with
    their Idempotency-Keys) and webhook subscriptions (``owner`` holds its ``id``)."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    """An API key of an organization: only the SHA-256 of the secret is stored; ``scopes`` is
    space separated; after ``expires_at`` (if set) or ``revoked_at`` it is refused."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookSubscription(Base):
    """A callback URL that receives signed dispatch status changes of its ``owner``
    organization's dispatches.

    ``event_types``: the event types it receives (JSON list; NULL: all). ``previous_secret``: the
    secret a rotation replaced, which keeps signing too until ``previous_secret_expires_at``.
    ``idempotency_key``: the Idempotency-Key of the create (unique per owner), so a retried
    create answers this subscription instead of adding another.
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (UniqueConstraint("owner", "idempotency_key",
                                       name="uq_webhook_subscriptions_owner_idempotency_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    event_types: Mapped[list[str] | None] = mapped_column(JSON)
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))


class WebhookOutbox(Base):
    """One message to one subscriber, written in the transaction of the change it reports.

    ``failed_at``: when the worker gave up on it (its retry horizon passed); ``retry_from``: when
    a manual retry queued it again (the horizon counts from here, else from ``created_at``).
    """

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),
                      Index("ix_outbox_subscription", "subscription_id", "created_at"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    retry_from: Mapped[datetime | None] = mapped_column(UtcDateTime)


class IdempotencyRecord(Base):
    """The first answer of a booking request sent with an ``Idempotency-Key``, written in the
    transaction that booked it, so a retry replays it instead of booking again.

    ``owner``: the caller's organization; ``operation``: what was asked (``POST
    /v1/orders/{order_id}/events``); ``(owner, operation, idempotency_key)`` is unique.
    ``request_hash``: SHA-256 of the canonical request (path and body), so the same key with
    another request is refused. ``response``: the answer's JSON body and ``status_code``.
    ``sealed_secret``: a created API key's secret, encrypted with a key derived from the
    caller's own API key (only that caller can open it; cleared after the replay window).
    ``created_by``: the id of the API key that made the request.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("owner", "operation", "idempotency_key",
                                       name="uq_idempotency_records_owner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(40))
    operation: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict | None] = mapped_column(JSON)
    sealed_secret: Mapped[str | None] = mapped_column(String(400))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class RateLimitCounter(Base):
    """A sliding-window request counter shared by every server process (:mod:`api.limits`).

    ``key``: what is counted and at which rate (``key:<sha256>:200/1/second``); ``window_no``:
    the number of the current fixed window (epoch seconds // the rate's period); ``count``:
    requests admitted in it; ``previous``: those of the window before. ``expires_at`` (epoch
    seconds): when the row no longer matters (the end of the window after this one).
    """

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_no: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    previous: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
