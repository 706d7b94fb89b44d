"""Idempotency-Key on stock receipts and adjustments and on dispatch lifecycle events (issue 11):
a retry with the key answers the first answer (``Idempotent-Replayed: true``) and books nothing,
also without a ``reference`` and after later events; the same key with another request is a 422
naming the header; keys belong to the organization; refusals are not stored."""

from __future__ import annotations

import threading
import uuid

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.app import create_app
from api.stock import service as stock
from inventory import ledger
from inventory.db.dispatch_models import DispatchOrder, IdempotencyRecord
from tests.api.conftest import body
from tests.api.tenant_keys import org_key

RECEIPT = {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": 2}
ADJUST = {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": -1, "reason": "cycle count"}


def on_hand(api, depot: str = "GZ", part: str = "FAN-T1") -> int:
    with api.ctx.sessions() as s:
        return stock.stock_rows(session=s, depot_id=depot, part_id=part)[0]["on_hand"]


def movements(api) -> int:
    with api.ctx.sessions() as s:
        return len(ledger.movements(session=s))


def records(api) -> int:
    with api.ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(IdempotencyRecord))


def book(api, path: str, payload: dict, key: str | None, who: str = "planner"):
    extra = {"Idempotency-Key": key} if key else {}
    return api.client.post(f"/v1/stock/{path}", json=payload, headers=api.h(who, **extra))


def test_a_receipt_without_reference_books_once_with_its_key(api):
    before = on_hand(api)
    first = book(api, "receipts", RECEIPT, "rcv-1")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    assert on_hand(api) == before + 2 and first.json()[0]["on_hand"] == before + 2
    booked = movements(api)
    for _ in range(2):
        again = book(api, "receipts", RECEIPT, "rcv-1")
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    assert on_hand(api) == before + 2 and movements(api) == booked
    # the key with another body: a 422 naming the header, nothing booked
    other = book(api, "receipts", {**RECEIPT, "quantity": 3}, "rcv-1")
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert movements(api) == booked
    # keys are per operation and organization: each of these is a request of its own
    assert book(api, "adjustments", ADJUST, "rcv-1").status_code == 201
    org_key(api, "partner-b", "planner", as_name="b")
    assert book(api, "receipts", RECEIPT, "rcv-1", who="b").status_code == 201
    assert on_hand(api) == before + 2 - 1 + 2
    # without a key (and without a reference) every request books: the documented convention
    assert book(api, "receipts", RECEIPT, None).status_code == 201
    assert on_hand(api) == before + 5


def test_a_key_and_a_reference_together(api):
    payload = {**RECEIPT, "reference": f"PO-{uuid.uuid4().hex[:6]}"}
    before = on_hand(api)
    first = book(api, "receipts", payload, "rcv-ref")
    assert first.status_code == 201
    again = book(api, "receipts", payload, "rcv-ref")  # the key's stored first answer
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    by_ref = book(api, "receipts", payload, "rcv-ref-2")  # a new key: the reference replays
    assert by_ref.status_code == 200 and by_ref.headers["idempotent-replayed"] == "true"
    assert on_hand(api) == before + 2


def test_a_refused_adjustment_is_not_stored(api):
    huge = {**ADJUST, "quantity": -1000}
    assert book(api, "adjustments", huge, "adj-x").status_code == 409
    assert records(api) == 0
    assert book(api, "adjustments", huge, "adj-x").status_code == 409  # decided again


def test_concurrent_adjustment_retries_book_once(api):
    app = create_app(context=api.ctx)
    before = on_hand(api)
    start = threading.Barrier(6)
    answers = []

    def client() -> None:
        with TestClient(app) as c:
            start.wait()
            answers.append(c.post("/v1/stock/adjustments", json=ADJUST,
                                  headers=api.h("planner", **{"Idempotency-Key": "adj-race"})))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [201] * 6
    assert sum("idempotent-replayed" in r.headers for r in answers) == 5
    assert len({r.text for r in answers}) == 1
    assert on_hand(api) == before - 1


REQUESTS = st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from((1, 2, -1))),
                    min_size=1, max_size=8)


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=REQUESTS)
def test_any_sequence_of_keyed_retries_books_each_key_once(api, requests):
    """Per (key, operation) the first request books once; a retry of it replays its answer,
    the key with another quantity is a 422, whatever the order."""
    run = uuid.uuid4().hex[:8]  # keys of this example only (the database outlives it)
    assert book(api, "receipts", {**RECEIPT, "quantity": 3}, None).status_code == 201
    before, first = on_hand(api), {}  # the adjustments below never run out of units
    for key, qty in requests:
        path, payload = (("receipts", {**RECEIPT, "quantity": qty}) if qty > 0 else
                         ("adjustments", {**ADJUST, "quantity": qty}))
        r = book(api, path, payload, f"{run}-{key}")
        seen = first.get((key, path))
        if seen is None:
            assert r.status_code == 201 and "idempotent-replayed" not in r.headers
            first[key, path] = (payload, r.json())
        elif seen[0] == payload:
            assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"
            assert r.json() == seen[1]
        else:
            assert r.status_code == 422
            assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert on_hand(api) == before + sum(p["quantity"] for p, _ in first.values())


def new_dispatch(api, who: str = "ticketing") -> dict:
    r = api.client.post("/v1/dispatches", json=body(ticket_id=f"INC-{uuid.uuid4().hex[:8]}"),
                        headers=api.h(who, **{"Idempotency-Key": uuid.uuid4().hex}))
    assert r.status_code == 201, r.text
    return r.json()


def event(api, dispatch_id: str, kind: str, at: str, key: str | None, who: str = "ticketing",
          **params: str):
    extra = {"Idempotency-Key": key} if key else {}
    return api.client.post(f"/v1/dispatches/{dispatch_id}/events", params=params,
                           json={"kind": kind, "at": at}, headers=api.h(who, **extra))


SHIPPED, DELIVERED = "2025-06-04T10:30:00+08:00", "2025-06-04T12:45:00+08:00"
RETURNED = "2025-06-05T09:00:00+08:00"


def test_a_retried_event_with_its_key_replays_after_later_events(api):
    d = new_dispatch(api)
    first = event(api, d["id"], "shipped", SHIPPED, "ship-1")
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    assert event(api, d["id"], "delivered", DELIVERED, "deliver-1").status_code == 200
    booked = movements(api)
    again = event(api, d["id"], "shipped", SHIPPED, "ship-1")  # a late retry of the first
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and again.json()["status"] == "shipped"
    assert movements(api) == booked
    # the same late retry without a key is what it was: a 409, nothing booked
    assert event(api, d["id"], "shipped", SHIPPED, None).status_code == 409
    # the key with another request (other instant, other dispatch): a 422 naming the header
    other = new_dispatch(api)
    for did, at in ((d["id"], DELIVERED), (other["id"], SHIPPED)):
        r = event(api, did, "shipped", at, "ship-1")
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    # a replay is sized like any answer
    full = event(api, d["id"], "shipped", SHIPPED, "ship-1", expand="alternatives")
    assert full.headers["idempotent-replayed"] == "true"
    assert len(full.json()["alternatives"]) == full.json()["alternatives_total"]


def test_a_retried_return_opens_one_repair_order(api):
    d = new_dispatch(api)
    for kind, at in (("shipped", SHIPPED), ("delivered", DELIVERED)):
        assert event(api, d["id"], kind, at, None).status_code == 200
    first = event(api, d["id"], "defective_received", RETURNED, "ret-1")
    assert first.status_code == 200 and first.json()["repair_order"] is not None
    # the ticket system timed out and retries the return
    assert event(api, d["id"], "defective_received", RETURNED, "ret-1").headers[
        "idempotent-replayed"] == "true"
    with api.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(DispatchOrder).where(
            DispatchOrder.dispatch_id == d["id"], DispatchOrder.kind.in_(("repair", "scrap")))) == 1


def test_event_keys_belong_to_the_organization_and_refusals_are_not_stored(api):
    d = new_dispatch(api)
    assert event(api, d["id"], "delivered", SHIPPED, "k-1").status_code == 409  # not shipped yet
    assert records(api) == 0
    assert event(api, d["id"], "shipped", SHIPPED, "k-1").status_code == 200
    # another organization's key with the same key: its own request, and not its dispatch
    org_key(api, "partner-b", "ticketing", as_name="b")
    r = event(api, d["id"], "shipped", SHIPPED, "k-1", who="b")
    assert r.status_code == 404 and "idempotent-replayed" not in r.headers
