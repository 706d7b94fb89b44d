"""Idempotency-Key on the booking requests that had none (issue 11): order events, API key
creation and restock-run starts replay their first answer instead of booking again (a 409
before); the same key with another request is a 422 naming the header; keys are per
organization; a created key's secret is shown again only to the admin key that created it,
within the replay window, and is never stored readable."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select

from api.restock import service as restock
from inventory import ledger
from inventory.db.dispatch_models import ApiKey, IdempotencyRecord, WebhookSubscription
from inventory.db.restock_models import RestockRun
from tests.api.conftest import NOW, body
from tests.api.tenant_keys import org_key


def open_order(api) -> dict:
    d = api.client.post("/v1/dispatches", json=body(ticket_id=f"INC-{uuid.uuid4().hex[:8]}"),
                        headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex})).json()
    (o,) = api.client.get("/v1/orders", params={"dispatch_id": d["id"]},
                          headers=api.h("planner")).json()["items"]
    return o


def event(api, order_id: int, payload: dict, key: str | None, who: str = "planner"):
    extra = {"Idempotency-Key": key} if key else {}
    return api.client.post(f"/v1/orders/{order_id}/events", json=payload,
                           headers=api.h(who, **extra))


def movement_count(api) -> int:
    with api.ctx.sessions() as s:
        return len(ledger.movements(session=s))


def test_an_order_event_sent_twice_with_its_key_replays(api):
    o = open_order(api)
    first = event(api, o["id"], {"kind": "sent"}, "ship-1")
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    booked = movement_count(api)
    again = event(api, o["id"], {"kind": "sent"}, "ship-1")
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and movement_count(api) == booked
    # without the key the second step is what it was: a 409, nothing booked
    assert event(api, o["id"], {"kind": "sent"}, None).status_code == 409
    # the key with another request (other body, other order) is a 422 naming the header
    for oid, payload in ((o["id"], {"kind": "received"}), (open_order(api)["id"], {"kind": "sent"})):
        r = event(api, oid, payload, "ship-1")
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    # keys belong to the organization: another one's same key is a request of its own
    org_key(api, "partner-b", "planner", as_name="b")
    booked = movement_count(api)
    r = event(api, o["id"], {"kind": "sent"}, "ship-1", who="b")
    assert r.status_code == 409 and movement_count(api) == booked


def test_a_refused_event_is_not_stored(api):
    o = open_order(api)
    r = event(api, o["id"], {"kind": "scrapped", "reason": "x"}, "k-refused")
    assert r.status_code == 409  # a transfer is not scrapped
    assert event(api, o["id"], {"kind": "scrapped", "reason": "x"}, "k-refused").status_code == 409
    with api.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_concurrent_retries_book_once(api):
    o = open_order(api)
    before = movement_count(api)
    answers = []

    def go():
        answers.append(event(api, o["id"], {"kind": "received"}, "land-1"))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [200] * 4
    assert sum("idempotent-replayed" in r.headers for r in answers) == 3
    assert len({r.text for r in answers}) == 1
    assert movement_count(api) == before + 3  # transfer_out, transfer_expected, transfer_in


def create_key(api, key: str | None, who: str = "admin", org: str = "org_default", **over):
    payload = {"name": "servicenow-2027", "scopes": ["ticketing"], **over}
    extra = {"Idempotency-Key": key} if key else {}
    return api.client.post(f"/v1/organizations/{org}/keys", json=payload,
                           headers=api.h(who, **extra))


def keys_named(api, name: str = "servicenow-2027") -> int:
    with api.ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.name == name))


def test_key_creation_replays_and_shows_the_secret_only_to_its_creator(api, monkeypatch):
    first = create_key(api, "mk-1")
    assert first.status_code == 201 and first.json()["key"].startswith("spk_")
    secret = first.json()["key"]
    again = create_key(api, "mk-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and keys_named(api) == 1
    # the key works
    assert api.client.get("/v1/dispatches", headers={"Authorization": f"Bearer {secret}"}
                          ).status_code == 200
    # another admin key of the organization gets the same key without its secret
    org_key(api, "org_default", "admin", as_name="admin-2")
    other = create_key(api, "mk-1", who="admin-2")
    assert other.status_code == 201 and other.headers["idempotent-replayed"] == "true"
    assert other.json() == {**first.json(), "key": None}
    # the database never holds the secret readable
    with api.ctx.sessions() as s:
        rec = s.scalar(select(IdempotencyRecord))
        assert rec.response["key"] is None and secret not in (rec.sealed_secret or "")
    # another body with the key: 422; no key: a new key each time
    r = create_key(api, "mk-1", scopes=["planner"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert create_key(api, None).json()["id"] != first.json()["id"]
    assert keys_named(api) == 2
    # after the replay window even the creator gets the key without the secret
    later = NOW + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(api.ctx.settings, "clock", lambda: later)
    late = create_key(api, "mk-1")
    assert late.status_code == 201 and late.json() == {**first.json(), "key": None}


def test_a_restock_run_start_replays(api, monkeypatch, tmp_path):
    api.client.app.state.restock_dir = tmp_path / "runs"
    with api.ctx.sessions() as s:
        s.execute(delete(RestockRun))
    monkeypatch.setattr(restock, "compute", lambda *a: (_ for _ in ()).throw(
        RuntimeError("not computed in this test")))
    h = api.h("planner", **{"Idempotency-Key": "q2-run"})
    first = api.client.post("/v1/restock-runs", json={"quarter": "2027Q2"}, headers=h)
    assert first.status_code == 202, first.text
    again = api.client.post("/v1/restock-runs", json={"quarter": "2027q2"}, headers=h)
    assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q3"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    with api.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RestockRun)) == 1


def test_a_retried_secret_rotation_does_not_rotate_again(api):
    api.ctx.settings.webhook_resolver = lambda host, port: ["93.184.216.34"]  # never contacted
    sub = api.client.post("/v1/webhooks", json={"url": "https://hooks.example.com/in"},
                          headers=api.h()).json()
    original = sub["secret"]
    path = f"/v1/webhooks/{sub['id']}/rotate-secret"
    h = api.h(**{"Idempotency-Key": "rot-1"})
    first = api.client.post(path, json={"overlap_hours": 2}, headers=h)
    assert first.status_code == 200 and first.json()["secret"] not in (None, original)
    again = api.client.post(path, json={"overlap_hours": 2}, headers=h)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # the original secret still signs beside the new one: nothing rotated twice
    with api.ctx.sessions() as s:
        row = s.get(WebhookSubscription, sub["id"])
        assert (row.secret, row.previous_secret) == (first.json()["secret"], original)
    # another key of the organization gets the answer without the secret
    org_key(api, "org_default", "ticketing", as_name="ticketing-2")
    other = api.client.post(path, json={"overlap_hours": 2},
                            headers=api.h("ticketing-2", **{"Idempotency-Key": "rot-1"}))
    assert other.json() == {**first.json(), "secret": None}
    r = api.client.post(path, json={"overlap_hours": 3}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Idempotency-Key"
