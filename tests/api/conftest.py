"""Fixtures of the API tests: a migrated database with ``tiny`` loaded, an app and API keys.

Builds on the shared module-scoped ``db_url`` fixture (tests/conftest.py: SQLite always,
PostgreSQL when reachable). Each test starts from empty dispatch tables and the scenario reloaded
(``replace=True``), so stock starts at the opening balances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

import scenarios
from api.app import build_context, create_app
from api.auth.service import create_key
from api.context import ApiSettings, AppContext
from inventory.db.dispatch_models import (
    ApiKey,
    Dispatch,
    DispatchEvent,
    DispatchOrder,
    IdempotencyRecord,
    RateLimitCounter,
    WebhookOutbox,
    WebhookSubscription,
)
from inventory.db.restock_models import RestockRun

NOW = datetime(2025, 6, 4, 2, 0, tzinfo=UTC)
"""The pinned server clock of the API tests: Wednesday 2025-06-04 10:00 in Shanghai, the
``reported_at`` of :func:`body`, so decisions ship from the reported instant."""


@dataclass
class Api:
    ctx: AppContext
    client: TestClient
    keys: dict[str, str]

    def h(self, who: str = "ticketing", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}", **extra}


@pytest.fixture(scope="session")
def tiny():
    return scenarios.load("tiny")


@pytest.fixture(scope="module")
def migrated_url(db_url):
    from inventory.db.migrate import upgrade

    upgrade(db_url)
    return db_url


@pytest.fixture
def api(migrated_url, tiny, monkeypatch):
    from inventory.db.load import load_scenario

    monkeypatch.setattr("api.webhooks.worker.new_client", no_send_client)

    ctx = build_context(ApiSettings(database_url=migrated_url, scenario=tiny, clock=lambda: NOW,
                                    webhook_resolver=no_dns))
    # write transactions (BEGIN IMMEDIATE on SQLite): a deferred one that reads, then writes,
    # fails at once when another connection committed in between (e.g. a restock run a former
    # test queued, still finishing on its daemon thread)
    with ctx.sessions(write=True) as session:
        for table in (WebhookOutbox, WebhookSubscription, DispatchEvent, DispatchOrder,
                      Dispatch, ApiKey, IdempotencyRecord, RateLimitCounter):
            session.execute(delete(table))
        load_scenario(tiny, session=session, replace=True)
    keys = {}
    with ctx.sessions(write=True) as session:
        for scope in ("ticketing", "planner", "admin"):
            keys[scope] = create_key(session=session, name=f"test-{scope}", scopes=scope)[1]
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
        yield Api(ctx, client, keys)
    ctx.dispose()


def no_dns(host: str, port: int) -> list[str]:
    """The webhook resolver of the API tests: no name resolves, so no webhook (and no DNS
    query) leaves the machine; tests that deliver give a table of their own."""
    raise OSError(f"{host}: the API tests resolve no host names")


def no_send_client(settings: ApiSettings) -> httpx.Client:
    """The webhook client of the API tests: every try fails as if nothing answered, without a
    connection (tests that deliver to their own loopback receiver put the real one back)."""
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the API tests send no webhooks", request=request)

    return httpx.Client(transport=httpx.MockTransport(refuse))


def body(**over):
    out = {"ticket_id": "INC-1", "site_id": "GZ-01", "part_id": "PSU-1200", "severity": 1,
           "reported_at": "2025-06-04T10:00:00+08:00"}
    out.update(over)
    return out


@pytest.fixture
def planner_api(api, tmp_path):
    """``api`` with no restock runs stored and their outputs written under ``tmp_path``."""
    with api.ctx.sessions() as s:
        s.execute(delete(RestockRun))
    api.client.app.state.restock_dir = tmp_path / "runs"
    return api


def idempotency_owners(api: Api, operation: str, key: str) -> list[str]:
    """Owners of the stored answers of ``operation`` under Idempotency-Key ``key``."""
    with api.ctx.sessions() as s:
        return list(s.scalars(select(IdempotencyRecord.owner).where(
            IdempotencyRecord.operation == operation, IdempotencyRecord.idempotency_key == key)))
