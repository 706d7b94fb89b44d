"""Strict input: each input that once gave a 5xx or was quietly coerced is a 4xx problem naming
the field (issue 11, item 3), and nothing was written for it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.dispatches import service as dispatches
from tests.api.conftest import body

PROBLEM = "application/problem+json"


def post(api, payload, key=None, **headers):
    return api.client.post("/v1/dispatches", json=payload,
                           headers=api.h(**{"Idempotency-Key": key or uuid.uuid4().hex},
                                         **headers))


def refused(r, field: str, status: int = 422) -> dict:
    """Assert a problem answer naming ``field``; returns the problem."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    p = r.json()
    assert p["status"] == status and field in [e["field"] for e in p["errors"]], p
    return p


def dispatch_count(api) -> int:
    r = api.client.get("/v1/dispatches", params={"limit": 200}, headers=api.h())
    return r.json()["count"]


def iso(t: datetime) -> str:
    return t.isoformat()


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00",
                                   "0001-01-01T00:00:00Z", "1800-06-04T10:00:00+08:00",
                                   "1900-12-31T23:00:00+08:00", "3000-06-04T10:00:00+08:00"])
def test_instants_out_of_range_are_422(api, stamp):
    refused(post(api, body(reported_at=stamp)), "body.reported_at")
    d = post(api, body()).json()
    refused(api.client.post(f"/v1/dispatches/{d['id']}/events", json={"kind": "picked",
                            "at": stamp}, headers=api.h()), "body.at")
    r = api.client.get("/v1/dispatches", params={"from": stamp}, headers=api.h())
    refused(r, "query.from")
    assert dispatch_count(api) == 1


@pytest.mark.parametrize("stamp", [1749002400, 1749002400.5, "1749002400", True,
                                   "2025-06-04", "10:00", "2025-06-04T10:00:00"])
def test_epoch_numbers_dates_and_naive_times_are_not_body_instants(api, stamp):
    refused(post(api, body(reported_at=stamp)), "body.reported_at")
    assert dispatch_count(api) == 0


@pytest.mark.parametrize(("field", "value"), [
    ("severity", True), ("severity", "1"), ("severity", 1.0), ("severity", 1.5),
    ("quantity", False), ("quantity", "2"), ("quantity", 2.0), ("quantity", 10**30)])
def test_integers_are_not_coerced(api, field, value):
    refused(post(api, body(**{field: value})), f"body.{field}")
    assert dispatch_count(api) == 0


@given(value=st.one_of(st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                       st.text(max_size=5), st.none(),
                       st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=2), st.integers(), max_size=1)))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_non_integer_severity_is_422_and_books_nothing(api, value):
    refused(post(api, body(severity=value)), "body.severity")
    assert dispatch_count(api) == 0


def test_other_numbers_are_strict(api):
    ok = {"depot_id": "GZ", "part_id": "PSU-1200", "reference": "R-1"}
    for q in (True, "1", 1.0):
        refused(api.client.post("/v1/pipeline/repair-sends", json={**ok, "quantity": q},
                                headers=api.h("planner")), "body.quantity")
        refused(api.client.post("/v1/stock/adjustments", headers=api.h("planner"),
                                json={**ok, "quantity": q, "reason": "count"}), "body.quantity")
    plan = {"depot_id": "GZ", "date": "2025-10-15"}
    refused(api.client.post("/v1/route-plans", json={**plan, "vans": True},
                            headers=api.h("planner")), "body.vans")
    refused(api.client.post("/v1/route-plans", json={**plan, "seconds": "1"},
                            headers=api.h("planner")), "body.seconds")
    refused(api.client.post("/v1/restock-runs", json={"quarter": "2027Q1", "budget": True},
                            headers=api.h("planner")), "body.budget")


@pytest.mark.parametrize("text", ["INC\x00", "INC\x07", "INC\x1b[31m", "INC\x85", "INC\ud800",
                                  " INC", "INC\n"])
def test_control_characters_and_padding_in_ids_are_422(api, text):
    raw = json.dumps(body(ticket_id=text))  # \ud800: a lone surrogate, sent as JSON escapes
    r = api.client.post("/v1/dispatches", content=raw, headers=api.h(**{
        "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}))
    refused(r, "body.ticket_id")
    assert dispatch_count(api) == 0


def test_control_characters_in_free_text_params_and_paths(api):
    d = post(api, body()).json()
    url = f"/v1/dispatches/{d['id']}/events"
    refused(api.client.post(url, json={"kind": "picked", "at": "2025-06-04T10:10:00+08:00",
                                       "note": "bad\x00note"}, headers=api.h()), "body.note")
    r = api.client.post(url, json={"kind": "picked", "at": "2025-06-04T10:10:00+08:00",
                                   "note": "line one\n\tline two"}, headers=api.h())
    assert r.status_code == 200 and r.json()["events"][0]["note"] == "line one\n\tline two"
    refused(api.client.get("/v1/dispatches/dsp%00x", headers=api.h()), "path.dispatch_id")
    refused(api.client.get("/v1/dispatches", params={"ticket_id": "a\x00"}, headers=api.h()),
            "query.ticket_id")
    refused(api.client.get("/v1/stock", params={"depot_id": "G\x01Z"}, headers=api.h()),
            "query.depot_id")
    refused(api.client.post("/v1/pipeline/scraps", headers=api.h("planner"), json={
        "depot_id": "GZ", "part_id": "PSU-1200", "quantity": 1, "reference": "S\x00",
        "reason": "x"}), "body.reference")


def test_integers_beyond_the_column_range_are_422(api):
    for path in ("/v1/orders/2147483648", "/v1/orders/99999999999999999999999",
                 "/v1/orders/0", "/v1/orders/1.0"):
        refused(api.client.get(path, headers=api.h("planner")), "path.order_id")
    refused(api.client.post("/v1/orders/2147483648/events", json={"kind": "sent"},
                            headers=api.h("planner")), "path.order_id")
    refused(api.client.get("/v1/orders", params={"limit": 10**20}, headers=api.h("planner")),
            "query.limit")
    refused(api.client.get("/v1/orders", params={"offset": 10**20}, headers=api.h("planner")),
            "query.offset")


def test_route_plan_dates_outside_the_range_are_422(api):
    for day in ("1900-01-01", "0001-01-01", "9999-12-31", "2100-01-01", "20251015", 20251015):
        refused(api.client.post("/v1/route-plans", json={"depot_id": "GZ", "date": day},
                                headers=api.h("planner")), "body.date")


@pytest.mark.parametrize("quarter", ["9999Q4", "1999Q4", "2100Q1", "2027Q5", "2027-1", "Q1"])
def test_quarters_outside_the_range_are_422(api, quarter):
    r = api.client.post("/v1/restock-runs", json={"quarter": quarter}, headers=api.h("planner"))
    refused(r, "body.quarter")


def test_instants_must_follow_the_report(api):
    p = refused(post(api, body(approved_at="2025-06-04T09:59:59+08:00")), "body.approved_at")
    assert "reported_at" in p["detail"]
    refused(post(api, body(confirmed_at="2025-06-04T01:00:00Z")), "body.confirmed_at")
    ok = post(api, body(confirmed_at="2025-06-04T10:05:00+08:00",
                        approved_at="2025-06-04T02:10:00Z"))
    assert ok.status_code == 201, ok.text
    assert dispatch_count(api) == 1


def test_future_instants_are_refused_beyond_the_clock_skew(api):
    now = datetime.now(UTC)
    refused(post(api, body(reported_at=iso(now + timedelta(hours=1)))), "body.reported_at")
    refused(post(api, body(confirmed_at=iso(now + timedelta(days=400)))), "body.confirmed_at")
    assert dispatch_count(api) == 0
    d = post(api, body()).json()
    url = f"/v1/dispatches/{d['id']}/events"
    refused(api.client.post(url, json={"kind": "picked", "at": iso(now + timedelta(hours=1))},
                            headers=api.h()), "body.at")
    r = api.client.post(url, json={"kind": "picked", "at": iso(now + timedelta(minutes=2))},
                        headers=api.h())  # within the allowed skew
    assert r.status_code == 200, r.text
    future = iso(now + timedelta(days=2))
    refused(api.client.post("/v1/stock/receipts", headers=api.h("planner"), json={
        "depot_id": "GZ", "part_id": "PSU-1200", "quantity": 1, "at": future}), "body.at")
    refused(api.client.post("/v1/pipeline/repair-sends", headers=api.h("planner"), json={
        "depot_id": "GZ", "part_id": "PSU-1200", "quantity": 1, "reference": "R-9",
        "at": future}), "body.at")


def test_a_second_idempotency_key_or_authorization_header_is_400(api):
    headers = [("Authorization", f"Bearer {api.keys['ticketing']}"),
               ("Idempotency-Key", "first"), ("Idempotency-Key", "second"),
               ("Content-Type", "application/json")]
    r = api.client.post("/v1/dispatches", content=json.dumps(body()), headers=headers)
    refused(r, "header.idempotency-key", 400)
    twice = [("Authorization", f"Bearer {api.keys['ticketing']}"),
             ("Authorization", f"Bearer {api.keys['admin']}")]
    refused(api.client.get("/v1/dispatches", headers=twice), "header.authorization", 400)
    assert dispatch_count(api) == 0
    refused(post(api, body(), key="bad key\x01"), "header.Idempotency-Key")


def test_unknown_or_repeated_query_parameters_are_422(api):
    post(api, body())
    p = refused(api.client.get("/v1/dispatches", params={"site_id": "S00013"}, headers=api.h()),
                "query.site_id")
    assert "ticket_id" in p["errors"][0]["message"]  # says what the endpoint takes
    refused(api.client.get("/v1/dispatches?limit=1&limit=2", headers=api.h()), "query.limit")
    refused(api.client.get("/v1/stock", params={"depot": "GZ"}, headers=api.h()), "query.depot")
    refused(api.client.get("/v1/sla/compliance", params={"teir": "gold"}, headers=api.h()),
            "query.teir")
    assert api.client.get("/v1/dispatches", params={"ticket_id": "INC-1"},
                          headers=api.h()).json()["count"] == 1


def test_filters_take_a_date_or_a_time_without_offset_as_utc(api):
    post(api, body())  # reported 2025-06-04T02:00Z
    def listed(**params):
        r = api.client.get("/v1/dispatches", params=params, headers=api.h())
        assert r.status_code == 200, r.text
        return r.json()["count"]

    assert listed(**{"from": "2025-06-04"}) == 1
    assert listed(**{"from": "2025-06-05"}) == 0
    assert listed(**{"from": "2025-06-04T01:59:00", "to": "2025-06-04T02:01:00"}) == 1
    assert listed(**{"to": "2025-06-04T02:00:00"}) == 0  # [from, to): to is exclusive
    assert listed(**{"from": "2025-06-04T09:00:00+08:00"}) == 1
    # a '+' not encoded in a URL arrives as a space: the problem says so
    r = api.client.get("/v1/dispatches?from=2025-06-04T10:00:00+08:00", headers=api.h())
    assert "%2B" in refused(r, "query.from")["detail"]
    refused(api.client.get("/v1/dispatches", params={"from": "2025-02-30"}, headers=api.h()),
            "query.from")
    r = api.client.get("/v1/sla/compliance", params={"from": "2025-06-04", "to": "2025-06-05"},
                       headers=api.h())
    assert r.status_code == 200, r.text


def test_an_unexpected_error_is_a_500_problem_answered_not_raised(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dispatches, "get_dispatch", broken)
    # raise_server_exceptions=True: an exception that escaped the app would be raised here, as
    # the server would see it (and close the keep-alive connection)
    with TestClient(create_app(context=api.ctx)) as client:
        r = client.get("/v1/dispatches/dsp_x", headers=api.h())
        assert r.status_code == 500 and r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["title"] == "Internal server error" and "boom" not in r.text
        assert client.get("/healthz").status_code == 200


@given(text=st.one_of(st.text(max_size=40),
                      st.datetimes().map(lambda t: t.isoformat()),
                      st.dates().map(lambda d: d.isoformat())))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_filter_text_is_a_page_or_a_problem_naming_it(api, text):
    r = api.client.get("/v1/dispatches", params={"from": text}, headers=api.h())
    if r.status_code != 200:
        refused(r, "query.from")


def test_the_connection_stays_open_after_refusals_and_an_unexpected_error(api, monkeypatch):
    """Against a real server on loopback: a 400, a 422 and a 500 answered on one keep-alive
    connection, then a 200 on the same connection."""
    import http.client
    import socket
    import threading
    import time

    import uvicorn

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dispatches, "get_dispatch", broken)
    server = uvicorn.Server(uvicorn.Config(create_app(context=api.ctx), host="127.0.0.1",
                                          port=0, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        auth = f"Authorization: Bearer {api.keys['ticketing']}\r\n"
        requests = [
            (f"GET /v1/dispatches HTTP/1.1\r\nHost: t\r\n{auth}{auth}\r\n", 400),
            (f"GET /v1/dispatches?site_id=X HTTP/1.1\r\nHost: t\r\n{auth}\r\n", 422),
            (f"GET /v1/dispatches/dsp_x HTTP/1.1\r\nHost: t\r\n{auth}\r\n", 500),
            ("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n", 200)]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for raw, status in requests:
                sock.sendall(raw.encode())
                r = http.client.HTTPResponse(sock)
                r.begin()
                r.read()
                assert (r.status, r.getheader("connection")) == (status, None), raw
    finally:
        server.should_exit = True
        thread.join(timeout=20)
