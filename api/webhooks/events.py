"""The webhook event types: one per dispatch status a change leads to, and the test ping."""

from __future__ import annotations

from enum import StrEnum

from optimizer.dispatch.lifecycle import Status

EventType = StrEnum("EventType", {s.name: f"dispatch.{s.value}" for s in Status})  # type: ignore[misc]
"""``dispatch.<status>``: a dispatch reached that status (``dispatch.reserved`` also when a
backorder is filled). Subscriptions filter on these."""

PING = "webhook.ping"
"""The test message of ``POST /v1/webhooks/{id}/ping``; sent whatever the subscription's filter."""
