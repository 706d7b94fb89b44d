"""Schemas of webhook subscriptions, their deliveries and the pages that list them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from api.pagination import PageInfo
from api.webhooks.events import EventType

MAX_OVERLAP_HOURS = 168
"""Longest overlap of a rotated-out secret (a week)."""


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://tickets.example.com/hooks/spares",
         "event_types": ["dispatch.reserved", "dispatch.shipped"]}]})

    url: AnyHttpUrl = Field(max_length=2000, description=(
        "https URL of a public address (plain http or an internal address only for an origin "
        "on the server's allow-list)"))
    event_types: list[EventType] | None = Field(
        None, min_length=1, description="the event types to receive; absent or null: all")


class SubscriptionOut(BaseModel):
    id: str
    url: str
    active: bool
    created_at: datetime
    event_types: list[EventType] | None = Field(description="received event types; null: all")
    previous_secret_expires_at: datetime | None = Field(
        None, description="while in the future, the secret a rotation replaced signs too")
    secret: str | None = Field(None, description="only in the answer to a create or a rotation")


class SubscriptionPage(PageInfo):
    items: list[SubscriptionOut]


class RotateSecret(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"overlap_hours": 24}]})

    overlap_hours: StrictInt | StrictFloat | None = Field(
        None, ge=0, le=MAX_OVERLAP_HOURS,
        description="how long the old secret keeps signing beside the new one (0: stops now); "
                    "default: the server's setting")


class DeliveryStatus(StrEnum):
    """PENDING: not delivered yet, retried until its horizon passes. DELIVERED: the receiver
    answered 2xx. FAILED: the retry horizon passed (a dead letter), the subscription was removed,
    or a ping's one try failed; ``POST .../retry`` queues it again."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryOut(BaseModel):
    """One outbox message to one subscription and how its delivery went."""

    id: str = Field(description="the webhook-id header the receiver saw")
    event_type: str
    status: DeliveryStatus
    attempts: int = Field(description="tries made (reset to 0 by a retry)")
    last_error: str | None = Field(description=(
        "why the last try failed: `HTTP <status>`, `no HTTP answer ...` or `destination "
        "refused: ...`"))
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="when pending: the next try")
    delivered_at: datetime | None
    failed_at: datetime | None = Field(description="when failed: when it was given up")
    payload: dict[str, Any]


class DeliveryPage(PageInfo):
    items: list[DeliveryOut]
