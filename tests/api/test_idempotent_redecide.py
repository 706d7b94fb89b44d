"""Idempotency-Key on ``POST /v1/dispatches/{id}/redecide`` (issue 11), as on the other booking
POSTs: a retry with the key answers the first answer (``Idempotent-Replayed: true``) and
decides nothing, also after the dispatch moved on; the key with another dispatch is a 422
naming the header; keys belong to the organization; a refusal is not stored (SQLite and
PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.dispatches.flows import REDECIDE_OPERATION
from inventory import ledger
from inventory.db.dispatch_models import DispatchEvent
from tests.api.conftest import body, idempotency_owners
from tests.api.tenant_keys import org_key


def backorder(api, ticket: str, who: str = "ticketing",
              reported_at: str = "2025-06-04T10:00:00+08:00") -> dict:
    """A dispatch of five LC-10G-B (three at the HQ, one at GZ): backordered."""
    r = api.client.post("/v1/dispatches", json=body(ticket_id=ticket, part_id="LC-10G-B",
                                                    quantity=5, reported_at=reported_at),
                        headers=api.h(who, **{"Idempotency-Key": uuid.uuid4().hex}))
    assert r.status_code == 201 and r.json()["status"] == "backordered", r.text
    return r.json()


def redecide(api, dispatch_id: str, key: str | None, who: str = "ticketing"):
    extra = {"Idempotency-Key": key} if key else {}
    return api.client.post(f"/v1/dispatches/{dispatch_id}/redecide", headers=api.h(who, **extra))


def land(api, quantity: int, depot: str = "HQ-SZ") -> None:
    """Units that come free by a way that does not fill backorders by itself."""
    with api.ctx.sessions() as s:
        ledger.receive(session=s, depot_id=depot, part_id="LC-10G-B", quantity=quantity)


def fills(api, dispatch_id: str) -> int:
    with api.ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(DispatchEvent).where(
            DispatchEvent.dispatch_id == dispatch_id, DispatchEvent.kind == "backorder_filled"))


def records(api, key: str) -> list[str]:
    return idempotency_owners(api, REDECIDE_OPERATION, key)


def test_a_retry_answers_the_first_redecision_and_decides_nothing(api):
    bo = backorder(api, "RD-KEY")
    land(api, 2)
    first = redecide(api, bo["id"], "rd-1")
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    assert first.json()["status"] == "reserved" and first.json()["source_depot_id"] == "HQ-SZ"
    assert fills(api, bo["id"]) == 1
    with api.ctx.sessions() as s:
        state = ledger.verify(session=s), ledger.available(
            session=s, depot_id="HQ-SZ", part_id="LC-10G-B")
    for _ in range(2):  # without the key this is a 409 (no longer a backorder)
        again = redecide(api, bo["id"], "rd-1")
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    assert fills(api, bo["id"]) == 1
    with api.ctx.sessions() as s:
        assert (ledger.verify(session=s), ledger.available(
            session=s, depot_id="HQ-SZ", part_id="LC-10G-B")) == state
    assert redecide(api, bo["id"], None).status_code == 409
    # after the dispatch moved on (shipped) the key still answers the first answer
    r = api.client.post(f"/v1/dispatches/{bo['id']}/events", headers=api.h(),
                        json={"kind": "shipped", "at": "2025-06-04T10:00:00+08:00"})
    assert r.status_code == 200, r.text
    late = redecide(api, bo["id"], "rd-1")
    assert late.status_code == 200 and late.json() == first.json()


def test_a_replay_of_a_redecision_that_found_nothing_does_not_decide_again(api):
    bo = backorder(api, "RD-NONE")
    first = redecide(api, bo["id"], "rd-none")
    assert first.status_code == 200 and first.json()["status"] == "backordered"
    land(api, 2)  # now a new decision would reserve; the retry answers the first answer
    again = redecide(api, bo["id"], "rd-none")
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert fills(api, bo["id"]) == 0
    assert redecide(api, bo["id"], "rd-fresh").json()["status"] == "reserved"  # a new key


def test_the_key_with_another_dispatch_is_refused_naming_the_header(api):
    a, b = backorder(api, "RD-A"), backorder(api, "RD-B")
    assert redecide(api, a["id"], "rd-shared").status_code == 200
    land(api, 2)
    other = redecide(api, b["id"], "rd-shared")
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert fills(api, b["id"]) == 0  # nothing decided


def test_refusals_are_not_kept(api):
    assert redecide(api, "dsp_nope", "rd-404").status_code == 404
    assert records(api, "rd-404") == []
    bo = backorder(api, "RD-409")
    r = api.client.post(f"/v1/dispatches/{bo['id']}/events", headers=api.h(),
                        json={"kind": "cancelled", "at": "2025-06-04T10:00:00+08:00"})
    assert r.status_code == 200, r.text
    assert redecide(api, bo["id"], "rd-409").status_code == 409
    assert records(api, "rd-409") == []


def test_keys_belong_to_the_organization(api):
    org_b = org_key(api, "partner-b", "ticketing", as_name="b")
    # A's is due first, so A's re-decision fills A's alone (none ahead of it in the queue)
    mine = backorder(api, "RD-ORG-A", reported_at="2025-06-04T09:00:00+08:00")
    theirs = backorder(api, "RD-ORG-B", who="b")
    land(api, 7)  # ten at the HQ: five for each
    # the same key in two organizations: two requests of their own, each decided
    a = redecide(api, mine["id"], "rd-org")
    b = redecide(api, theirs["id"], "rd-org", who="b")
    assert (a.status_code, b.status_code) == (200, 200)
    assert "idempotent-replayed" not in a.headers and "idempotent-replayed" not in b.headers
    assert a.json()["status"] == b.json()["status"] == "reserved"
    assert sorted(records(api, "rd-org")) == sorted(["org_default", org_b])
    # organization B's key cannot reach A's dispatch, with or without A's key
    assert redecide(api, mine["id"], "rd-org", who="b").status_code == 422  # B's key, B's use
    assert redecide(api, mine["id"], "rd-b-other", who="b").status_code == 404
    # each organization's retry answers its own first answer
    assert redecide(api, theirs["id"], "rd-org", who="b").json() == b.json()
    assert redecide(api, mine["id"], "rd-org").json() == a.json()


def race(api, send, n: int = 6) -> list:
    """``send(client)`` from ``n`` threads at once, each with its own client of one app."""
    app = create_app(context=api.ctx)
    start = threading.Barrier(n)
    answers = []

    def client() -> None:
        with TestClient(app) as c:
            start.wait()
            answers.append(send(c))

    threads = [threading.Thread(target=client) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_concurrent_retries_decide_once(api):
    bo = backorder(api, "RD-RACE")
    land(api, 2)
    answers = race(api, lambda c: c.post(f"/v1/dispatches/{bo['id']}/redecide",
                                         headers=api.h(**{"Idempotency-Key": "rd-race"})))
    assert [r.status_code for r in answers] == [200] * 6
    assert sum("idempotent-replayed" in r.headers for r in answers) == 5
    assert len({r.text for r in answers}) == 1 and answers[0].json()["status"] == "reserved"
    assert fills(api, bo["id"]) == 1
    with api.ctx.sessions() as s:
        assert ledger.verify(session=s) == []
