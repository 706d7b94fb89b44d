"""Schemas of webhook subscriptions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://tickets.example.com/hooks/spares"}]})

    url: AnyHttpUrl


class SubscriptionOut(BaseModel):
    id: str
    url: str
    active: bool
    created_at: datetime
    secret: str | None = None  # only in the answer to the create


class DeliveryStatus(StrEnum):
    """PENDING: not delivered yet, tries left. DELIVERED: the receiver answered 2xx. FAILED:
    every try used (a dead letter); ``POST .../retry`` queues it again."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryOut(BaseModel):
    """One outbox message to one subscription and how its delivery went."""

    id: str = Field(description="the webhook-id header the receiver saw")
    event_type: str
    status: DeliveryStatus
    attempts: int = Field(description="tries made (reset to 0 by a retry)")
    last_error: str | None = Field(description="why the last try failed (HTTP status or error)")
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="when pending: the next try")
    delivered_at: datetime | None
    payload: dict[str, Any]
