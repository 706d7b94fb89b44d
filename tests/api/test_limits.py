"""Limits (issue 11, item 4): body size 413, rate limits 429 with Retry-After per key, per
address and for unauthenticated floods, the cap on queued restock runs, and keyset pagination
with a hard maximum page size on every list."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from api.app import create_app
from api.auth import deps
from api.limits import Limits
from api.pagination import MAX_PAGE
from api.restock import views as restock_views
from inventory.db.restock_models import RestockRun
from tests.api.conftest import body

PROBLEM = "application/problem+json"


def client(api, **limits) -> TestClient:
    return TestClient(create_app(context=api.ctx, limits=Limits(**limits)),
                      raise_server_exceptions=False)


def dispatch(api, c=None, **over):
    c = c or api.client
    return c.post("/v1/dispatches", json=body(**over),
                  headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))


def test_a_body_over_the_limit_is_413_before_or_while_it_is_read(api):
    with client(api, max_body_bytes=1000) as c:
        big = body(ticket_id="x" * 150, site_id="y" * 900)
        r = dispatch(api, c, ticket_id="x" * 150, site_id="y" * 900)
        assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["errors"][0]["field"] == "body" and "1000 bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: counted as it streams in
            import json

            raw = json.dumps(big).encode()
            for i in range(0, len(raw), 100):
                yield raw[i:i + 100]

        r = c.post("/v1/dispatches", content=chunks(), headers=api.h(**{
            "Idempotency-Key": "k", "Content-Type": "application/json"}))
        assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
        r = c.post("/v1/dispatches", content=b"{}", headers=api.h(**{
            "Idempotency-Key": "k", "Content-Type": "application/json", "Content-Length": "x"}))
        assert r.status_code == 400
        assert dispatch(api, c).status_code == 201  # a normal body passes
    assert api.client.get("/v1/dispatches", headers=api.h()).json()["count"] == 1


def test_rate_limit_per_key_answers_429_with_retry_after(api):
    with client(api, per_key="3/minute", per_address=None) as c:
        codes = [c.get("/v1/stock", headers=api.h()).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/v1/stock", headers=api.h())
        assert r.status_code == 429 and r.headers["content-type"].startswith(PROBLEM)
        # the shared sliding window: this minute's requests still weigh on the next one
        # (tests/api/test_rate_counters.py checks the figure against a clock)
        assert 1 <= int(r.headers["retry-after"]) <= 120
        assert r.json()["retry_after_seconds"] == int(r.headers["retry-after"])
        assert r.json()["errors"][0]["field"] == "header.Authorization"
        # another key has its own budget; health checks are never limited
        assert c.get("/v1/stock", headers=api.h("planner")).status_code == 200
        assert all(c.get("/healthz").status_code == 200 for _ in range(5))


def test_rate_limit_per_address_covers_all_keys(api):
    with client(api, per_key=None, per_address="4/minute") as c:
        codes = [c.get("/v1/stock", headers=api.h(who)).status_code
                 for who in ("ticketing", "planner", "admin", "ticketing", "planner")]
        assert codes == [200, 200, 200, 200, 429]
        assert c.get("/v1/stock").status_code == 429  # no key: still this address


def test_unknown_keys_from_an_address_are_refused_unread_after_a_few(api, monkeypatch):
    lookups = []
    real = deps.authenticate

    def counted(**kwargs):
        lookups.append(1)
        return real(**kwargs)

    monkeypatch.setattr(deps, "authenticate", counted)
    with client(api, per_key=None, per_address=None, auth_failures="3/minute") as c:
        bad = [c.get("/v1/stock", headers={"Authorization": f"Bearer spk_{i}_nope"}).status_code
               for i in range(3)]
        assert bad == [401, 401, 401] and len(lookups) == 3
        r = c.get("/v1/stock", headers={"Authorization": "Bearer spk_9_nope"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert len(lookups) == 3  # refused before any key lookup
        assert c.get("/v1/stock", headers=api.h()).status_code == 429  # the address waits


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("SPARES_MAX_BODY_BYTES", "5000")
    monkeypatch.setenv("SPARES_RATE_PER_KEY", "off")
    monkeypatch.setenv("SPARES_RATE_PER_ADDRESS", "10/second;100/minute")
    monkeypatch.delenv("SPARES_RATE_AUTH_FAILURES", raising=False)
    got = Limits.from_env()
    assert (got.max_body_bytes, got.per_key, got.per_address) == (5000, None,
                                                                 "10/second;100/minute")
    assert got.auth_failures == Limits().auth_failures


def test_queued_restock_runs_are_capped(api):
    with api.ctx.sessions() as s:
        for i in range(restock_views.MAX_QUEUED_RUNS):
            s.add(RestockRun(id=f"rr_wait{i}", owner="x", quarter="2027Q1", status="queued"))
    try:
        r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1"},
                            headers=api.h("planner"))
        assert r.status_code == 429 and r.headers["content-type"].startswith(PROBLEM)
        assert int(r.headers["retry-after"]) > 0 and "queued" in r.json()["detail"]
        with api.ctx.sessions() as s:
            assert len(s.scalars(select(RestockRun.id)).all()) == restock_views.MAX_QUEUED_RUNS
    finally:
        with api.ctx.sessions() as s:
            s.execute(delete(RestockRun).where(RestockRun.id.like("rr_wait%")))


def pages(api, path: str, who: str = "ticketing", **params) -> list[dict]:
    """Every page of a list, following next_cursor; checks the page fields on the way."""
    out, cursor = [], None
    for _ in range(100):
        r = api.client.get(path, params={**params, **({"cursor": cursor} if cursor else {})},
                           headers=api.h(who))
        assert r.status_code == 200, r.text
        p = r.json()
        assert p["count"] == len(p["items"]) <= params.get("limit", 100)
        out.append(p)
        if not p["has_more"]:
            assert p["next_cursor"] is None
            return out
        cursor = p["next_cursor"]
    raise AssertionError("pagination did not end")


@pytest.fixture
def five(api):
    for i in range(5):  # two reported at the same instant: the id breaks the tie
        r = dispatch(api, ticket_id=f"P{i}", reported_at=f"2025-06-04T{9 + i // 2:02d}:00:00+08:00")
        assert r.status_code == 201
    return api


def test_dispatch_pages_follow_the_cursor_without_gaps_or_repeats(five):
    api = five
    everything = api.client.get("/v1/dispatches", headers=api.h()).json()
    assert everything["count"] == 5 and everything["has_more"] is False
    got = pages(api, "/v1/dispatches", limit=2)
    assert [p["count"] for p in got] == [2, 2, 1]
    assert [d["id"] for p in got for d in p["items"]] == [d["id"] for d in everything["items"]]
    # a dispatch reported later while paging appears on a later page, nothing shifts
    first = api.client.get("/v1/dispatches", params={"limit": 2}, headers=api.h()).json()
    dispatch(api, ticket_id="LATE", reported_at="2025-06-04T12:00:00+08:00")
    rest = api.client.get("/v1/dispatches", params={"limit": 200, "cursor": first["next_cursor"]},
                          headers=api.h()).json()
    assert [d["ticket_id"] for d in rest["items"]][-1] == "LATE" and rest["count"] == 4


@given(limit=st.integers(1, 7))
@settings(max_examples=7, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_page_size_gives_every_item_once(five, limit):
    api = five
    for path, who, key in (("/v1/dispatches", "ticketing", "id"),
                           ("/v1/stock", "ticketing", ("depot_id", "part_id"))):
        everything = api.client.get(path, params={"limit": MAX_PAGE}, headers=api.h(who)).json()
        keys = [tuple(i[k] for k in key) if isinstance(key, tuple) else i[key]
                for i in everything["items"]]
        paged = [tuple(i[k] for k in key) if isinstance(key, tuple) else i[key]
                 for p in pages(api, path, who, limit=limit) for i in p["items"]]
        assert paged == keys and len(set(paged)) == len(paged)


def test_page_size_and_cursor_are_checked(five):
    api = five
    for path, who in (("/v1/dispatches", "ticketing"), ("/v1/orders", "planner"),
                      ("/v1/stock", "ticketing")):
        for limit in (0, MAX_PAGE + 1, "ten", 1.5):
            r = api.client.get(path, params={"limit": limit}, headers=api.h(who))
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.limit"
        for cursor in ("garbage", "W10", "e30"):
            r = api.client.get(path, params={"cursor": cursor}, headers=api.h(who))
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"
    stock_cursor = api.client.get("/v1/stock", params={"limit": 1},
                                  headers=api.h()).json()["next_cursor"]
    r = api.client.get("/v1/dispatches", params={"cursor": stock_cursor}, headers=api.h())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"
    orders = pages(api, "/v1/orders", "planner", limit=2)
    assert sum(p["count"] for p in orders) == 5  # each dispatch opened a replenishment order
