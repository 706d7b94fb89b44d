"""Schemas of webhook subscriptions."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict


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
