"""Webhooks: signed Standard Webhooks messages from the outbox, retried after receiver failure."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.webhooks.signing import new_secret, sign, verify
from api.webhooks.worker import backoff_seconds, deliver_due
from tests.api.conftest import body


class Receiver:
    """A local HTTP receiver on 127.0.0.1 that fails while ``down`` and records what it got."""

    def __init__(self) -> None:
        self.down = False
        self.got: list[tuple[dict[str, str], str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                data = self.rfile.read(int(self.headers["content-length"])).decode()
                if outer.down:
                    self.send_response(503)
                else:
                    outer.got.append(({k.lower(): v for k, v in self.headers.items()}, data))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_signature_round_trip():
    secret = new_secret()
    sig = sign(secret, "msg_1", 1700000000, '{"a":1}')
    assert sig.startswith("v1,")
    assert verify(secret, "msg_1", 1700000000, '{"a":1}', f"v1,bogus {sig}")
    assert not verify(secret, "msg_1", 1700000001, '{"a":1}', sig)
    assert not verify(new_secret(), "msg_1", 1700000000, '{"a":1}', sig)
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff_seconds(40) == 3600.0


def test_delivery_signed_and_retried_after_failure(api, receiver):
    sub = api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.h()).json()
    secret = sub["secret"]
    assert secret.startswith("whsec_")
    assert api.client.get("/v1/webhooks", headers=api.h()).json()[0]["secret"] is None
    d = api.client.post("/v1/dispatches", json=body(),
                        headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex})).json()
    api.client.post(f"/v1/dispatches/{d['id']}/events",
                    json={"kind": "cancelled", "at": "2025-06-04T10:05:00+08:00"}, headers=api.h())
    receiver.down = True
    now = datetime.now(UTC)
    rep = deliver_due(api.ctx, now=now)
    assert (rep.delivered, rep.failed) == (0, 2) and receiver.got == []
    # not due again before the backoff has passed, nothing lost meanwhile
    assert deliver_due(api.ctx, now=now + timedelta(seconds=1)).failed == 0
    receiver.down = False
    rep = deliver_due(api.ctx, now=now + timedelta(seconds=3))
    assert rep.delivered == 2
    assert deliver_due(api.ctx, now=now + timedelta(hours=2)).delivered == 0  # exactly once
    types = []
    for headers, payload in receiver.got:
        ts = int(headers["webhook-timestamp"])
        assert verify(secret, headers["webhook-id"], ts, payload, headers["webhook-signature"])
        msg = json.loads(payload)
        assert msg["data"]["dispatch_id"] == d["id"]
        types.append(msg["type"])
    assert types == ["dispatch.reserved", "dispatch.cancelled"]


def test_a_rolled_back_change_sends_nothing(api, receiver):
    api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.h())
    d = api.client.post("/v1/dispatches", json=body(),
                        headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex})).json()
    illegal = api.client.post(f"/v1/dispatches/{d['id']}/events",
                              json={"kind": "delivered", "at": "2025-06-04T11:00:00+08:00"},
                              headers=api.h())
    assert illegal.status_code == 409
    assert deliver_due(api.ctx, now=datetime.now(UTC)).delivered == 1  # only the create
    bad = api.client.post("/v1/webhooks", json={"url": "not a url"}, headers=api.h())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.url"


def test_outbox_survives_a_restart_and_the_worker_thread_delivers(api, receiver, tiny):
    import time

    from api.app import build_context
    from api.context import ApiSettings
    from api.webhooks.worker import WebhookWorker

    api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.h())
    api.client.post("/v1/dispatches", json=body(),
                    headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
    url = api.ctx.settings.database_url
    api.ctx.dispose()  # the server goes away with the message still queued
    fresh = build_context(ApiSettings(database_url=url, scenario=tiny, webhook_poll_seconds=0.05))
    worker = WebhookWorker(fresh)
    worker.start()
    try:
        for _ in range(100):
            if receiver.got:
                break
            time.sleep(0.05)
    finally:
        worker.stop()
        fresh.dispose()
    assert len(receiver.got) == 1
    assert json.loads(receiver.got[0][1])["type"] == "dispatch.reserved"


def test_a_hanging_receiver_blocks_neither_dispatches_nor_a_second_worker(api):
    """While one delivery waits on a stuck receiver, no transaction is held: a dispatch is
    created and a second worker pass claims nothing (so the message is sent exactly once)."""
    from concurrent.futures import ThreadPoolExecutor

    release = threading.Event()
    got: list[str] = []

    class Stuck(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            got.append(self.rfile.read(int(self.headers["content-length"])).decode())
            if len(got) == 1:  # only the first message hangs
                release.wait(20)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stuck)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        api.client.post("/v1/webhooks", json={"url": url}, headers=api.h())
        api.client.post("/v1/dispatches", json=body(ticket_id="W1"),
                        headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(deliver_due, api.ctx, now=datetime.now(UTC))
            for _ in range(200):
                if got:
                    break
                threading.Event().wait(0.05)
            assert len(got) == 1 and not first.done()  # the receiver holds the first pass
            created = pool.submit(api.client.post, "/v1/dispatches", json=body(ticket_id="W2"),
                                  headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
            assert created.result(timeout=15).status_code == 201
            second = deliver_due(api.ctx, now=datetime.now(UTC))
            assert (second.delivered, second.failed) == (1, 0)  # W2's message, not W1's again
            release.set()
            assert first.result(timeout=15).delivered == 1
        assert [json.loads(p)["data"]["ticket_id"] for p in got] == ["W1", "W2"]
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_dead_letters_are_listed_and_retried(api, receiver):
    from api.auth.service import create_key

    api.ctx.settings.webhook_max_attempts = 2
    sub = api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.h()).json()
    api.client.post("/v1/dispatches", json=body(),
                    headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
    url = f"/v1/webhooks/{sub['id']}/deliveries"
    receiver.down = True
    now = datetime.now(UTC)
    assert deliver_due(api.ctx, now=now).gave_up == 0
    (pending,) = api.client.get(url, params={"status": "pending"}, headers=api.h()).json()
    assert pending["attempts"] == 1 and pending["next_attempt_at"]
    assert deliver_due(api.ctx, now=now + timedelta(seconds=3)).gave_up == 1
    assert deliver_due(api.ctx, now=now + timedelta(days=1)).failed == 0  # no try left
    assert api.client.get(url, params={"status": "pending"}, headers=api.h()).json() == []
    (dead,) = api.client.get(url, params={"status": "failed"}, headers=api.h()).json()
    assert dead["id"] == pending["id"] and dead["status"] == "failed"
    assert (dead["attempts"], dead["last_error"]) == (2, "HTTP 503")
    assert dead["next_attempt_at"] is None and dead["payload"]["type"] == "dispatch.reserved"
    # the owner and an admin see it; another ticketing key does not; a planner key lacks the scope
    assert api.client.get(url, headers=api.h("admin")).json() == [dead]
    with api.ctx.sessions() as s:
        other = create_key(session=s, name="other", scopes="ticketing")[1]
    nope = api.client.get(url, headers={"Authorization": f"Bearer {other}"})
    assert nope.status_code == 404 and nope.json()["errors"][0]["field"] == "path.subscription_id"
    assert api.client.get(url, headers=api.h("planner")).status_code == 403
    bad = api.client.get(url, params={"status": "lost"}, headers=api.h())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.status"
    # retry: tries start over and the next pass delivers it, once
    receiver.down = False
    r = api.client.post(f"{url}/{dead['id']}/retry", headers=api.h())
    assert r.status_code == 202 and (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    assert deliver_due(api.ctx, now=now + timedelta(days=1)).delivered == 1
    assert len(receiver.got) == 1 and receiver.got[0][0]["webhook-id"] == dead["id"]
    (done,) = api.client.get(url, params={"status": "delivered"}, headers=api.h()).json()
    assert done["id"] == dead["id"] and done["last_error"] is None and done["delivered_at"]
    again = api.client.post(f"{url}/{dead['id']}/retry", headers=api.h())
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "path.message_id"
    assert api.client.post(f"{url}/msg_nope/retry", headers=api.h()).status_code == 404


def test_a_dead_letter_of_a_removed_subscription_is_not_retried(api, receiver):
    api.ctx.settings.webhook_max_attempts = 1
    sub = api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.h()).json()
    api.client.post("/v1/dispatches", json=body(),
                    headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
    receiver.down = True
    assert deliver_due(api.ctx, now=datetime.now(UTC)).gave_up == 1
    url = f"/v1/webhooks/{sub['id']}/deliveries"
    (dead,) = api.client.get(url, params={"status": "failed"}, headers=api.h()).json()
    assert api.client.delete(f"/v1/webhooks/{sub['id']}", headers=api.h()).status_code == 204
    r = api.client.post(f"{url}/{dead['id']}/retry", headers=api.h())
    assert r.status_code == 409 and r.json()["type"].endswith("subscription-inactive")
