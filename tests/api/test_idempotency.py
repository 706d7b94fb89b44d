"""Every booking POST books once: stock receipts and adjustments by their reference (replayed
with ``Idempotent-Replayed``, another body a 409), also when the same reference races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.stock import service as stock
from inventory import ledger

RECEIPT = {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": 2, "reference": "PO-4711"}
ADJUST = {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": -1, "reason": "cycle count",
          "reference": "CC-2025-06"}


def on_hand(api, depot="GZ", part="FAN-T1"):
    with api.ctx.sessions() as s:
        return stock.stock_rows(session=s, depot_id=depot, part_id=part)[0]["on_hand"]


@pytest.mark.parametrize(("path", "payload", "changed"), [
    ("/v1/stock/receipts", RECEIPT, {"quantity": 3}),
    ("/v1/stock/receipts", RECEIPT, {"depot_id": "HQ-SZ"}),
    ("/v1/stock/adjustments", ADJUST, {"quantity": -2}),
    ("/v1/stock/adjustments", ADJUST, {"reason": "damaged"})])
def test_a_reference_books_once(api, path, payload, changed):
    before = on_hand(api)
    first = api.client.post(path, json=payload, headers=api.h("planner"))
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    booked = on_hand(api)
    assert booked == before + payload["quantity"]
    again = api.client.post(path, json=payload, headers=api.h("planner"))
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and on_hand(api) == booked
    other = api.client.post(path, json={**payload, **changed}, headers=api.h("planner"))
    assert other.status_code == 409 and other.json()["errors"][0]["field"] == "body.reference"
    assert on_hand(api) == booked
    with api.ctx.sessions() as s:
        assert len(ledger.movements(session=s, reference=payload["reference"])) == 1


def test_receipt_and_adjustment_references_are_apart_and_none_books_each_time(api):
    before = on_hand(api)
    ref = {"reference": "SHARED-1"}
    assert api.client.post("/v1/stock/receipts", json={**RECEIPT, **ref},
                           headers=api.h("planner")).status_code == 201
    assert api.client.post("/v1/stock/adjustments", json={**ADJUST, **ref},
                           headers=api.h("planner")).status_code == 201
    plain = {k: v for k, v in RECEIPT.items() if k != "reference"}
    for _ in range(2):  # without a reference nothing identifies a retry
        assert api.client.post("/v1/stock/receipts", json=plain,
                               headers=api.h("planner")).status_code == 201
    assert on_hand(api) == before + 2 - 1 + 4


def test_racing_receipts_with_one_reference_book_once(api):
    app = create_app(context=api.ctx)
    start = threading.Barrier(8)
    before = on_hand(api)

    def client(_: int) -> int:
        with TestClient(app) as c:
            start.wait()
            return c.post("/v1/stock/receipts", json=RECEIPT, headers=api.h("planner")).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(client, range(8)))
    assert codes == [200] * 7 + [201]
    assert on_hand(api) == before + RECEIPT["quantity"]


def test_a_retried_webhook_create_answers_the_subscription_it_made(api):
    api.ctx.settings.webhook_resolver = lambda host, port: ["93.184.216.34"]  # checked, not used
    hook = {"url": "https://hooks.example/spares", "event_types": ["dispatch.shipped"]}
    first = api.client.post("/v1/webhooks", json=hook, headers=api.h(**{"Idempotency-Key": "w1"}))
    assert first.status_code == 201 and first.json()["secret"]
    again = api.client.post("/v1/webhooks", json=hook, headers=api.h(**{"Idempotency-Key": "w1"}))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    other = api.client.post("/v1/webhooks", json={**hook, "event_types": None},
                            headers=api.h(**{"Idempotency-Key": "w1"}))
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    listed = api.client.get("/v1/webhooks", headers=api.h()).json()["items"]
    assert [s["id"] for s in listed] == [first.json()["id"]]
    # without the header every create is a new subscription
    assert api.client.post("/v1/webhooks", json=hook, headers=api.h()).json()["id"] != \
        first.json()["id"]
