"""Webhooks: signed Standard Webhooks messages from the outbox to checked destinations.

Every request a test sends goes to a receiver on 127.0.0.1 started here, allow-listed in the
settings; host names come from a fixed resolver table (no DNS query leaves the machine), and
``no_outside_connections`` fails any test whose code tries to connect anywhere but loopback.
Refusals of private and metadata addresses are checked by the address check, which runs before
any connection (the ``outside`` transport records that nothing was attempted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api import pagination
from api.webhooks import worker as worker_module
from api.webhooks.destinations import UNRESOLVED
from api.webhooks.worker import NO_ANSWER, WebhookWorker, backoff_seconds, deliver_due
from tests.api.conftest import body
from tests.api.tenant_keys import org_key

REAL_CLIENT = worker_module.new_client
"""The delivery client (tests/api/conftest.py swaps in one that sends nothing)."""
PUBLIC = "93.184.216.34"
"""A public address the resolver table gives; only ever reached through a mock transport."""


def reference_signature(secret: str, msg_id: str, timestamp: str, payload: str) -> str:
    """The Standard Webhooks signature computed by hand (independent of the library)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{payload}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Receiver:
    """A local HTTP receiver on 127.0.0.1: answers ``status`` (503 while ``down``), records
    what it got, optionally with a ``Location`` header."""

    def __init__(self) -> None:
        self.down = False
        self.status = 204
        self.location: str | None = None
        self.got: list[tuple[dict[str, str], str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                data = self.rfile.read(int(self.headers["content-length"])).decode()
                if outer.down:
                    self.send_response(503)
                else:
                    outer.got.append(({k.lower(): v for k, v in self.headers.items()}, data))
                    self.send_response(outer.status)
                    if outer.location:
                        self.send_header("Location", outer.location)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.origin}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> list[dict]:
        return [json.loads(p) for _, p in self.got]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def no_outside_connections(monkeypatch):
    """Any socket connect to an address other than loopback fails the test."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(address):
        if isinstance(address, tuple):
            ip = ipaddress.ip_address(str(address[0]).split("%")[0])
            assert ip.is_loopback, f"a test tried to connect to {address}"

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


class Names:
    """The resolver of the tests: a table of host -> addresses, counting the lookups."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"{host}: not in the test table")
        return self.table[host]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def names(api, receiver, monkeypatch):
    """The receiver allow-listed, the resolver a table (``receiver.test`` -> 127.0.0.1), the
    real delivery client (``no_outside_connections`` keeps it on loopback)."""
    monkeypatch.setattr(worker_module, "new_client", REAL_CLIENT)
    table = Names()
    table.table["receiver.test"] = ["127.0.0.1"]
    api.ctx.settings.webhook_resolver = table
    api.ctx.settings.webhook_allow = (receiver.origin, f"http://receiver.test:{receiver.port}")
    return table


class Outside:
    """An httpx transport standing in for the internet: records each request, answers 204."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.Client:
        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return httpx.Response(204)
        return httpx.Client(transport=httpx.MockTransport(handle), follow_redirects=False)


def subscribe(api, url, who="ticketing", **extra):
    r = api.client.post("/v1/webhooks", json={"url": url, **extra}, headers=api.h(who))
    assert r.status_code == 201, r.text
    return r.json()


def dispatch(api, **over):
    r = api.client.post("/v1/dispatches", json=body(**over),
                        headers=api.h(**{"Idempotency-Key": uuid.uuid4().hex}))
    assert r.status_code == 201, r.text
    return r.json()


def cancel(api, d):
    r = api.client.post(f"/v1/dispatches/{d['id']}/events", headers=api.h(),
                        json={"kind": "cancelled", "at": "2025-06-04T10:05:00+08:00"})
    assert r.status_code == 200, r.text


def outbox(api, sub_id, **params):
    r = api.client.get(f"/v1/webhooks/{sub_id}/deliveries", params=params, headers=api.h())
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_backoff():
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff_seconds(40) == 3600.0


def test_delivery_signed_and_retried_after_failure(api, names, receiver):
    sub = subscribe(api, receiver.url)
    secret = sub["secret"]
    assert secret.startswith("whsec_")
    listed = api.client.get("/v1/webhooks", headers=api.h()).json()
    assert listed["items"][0]["secret"] is None and listed["has_more"] is False
    d = dispatch(api)
    cancel(api, d)
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
    for headers, payload in receiver.got:
        assert Webhook(secret).verify(payload, headers)["data"]["dispatch_id"] == d["id"]
        assert headers["webhook-signature"] == reference_signature(
            secret, headers["webhook-id"], headers["webhook-timestamp"], payload)
        assert headers["user-agent"].startswith("spares-webhooks")
    assert [m["type"] for m in receiver.messages()] == ["dispatch.reserved", "dispatch.cancelled"]


def test_payloads_carry_depot_mode_eta_and_due_time(api, names, receiver):
    subscribe(api, receiver.url)
    d = dispatch(api)
    cancel(api, d)
    assert deliver_due(api.ctx).delivered == 2
    reserved, cancelled = (m["data"] for m in receiver.messages())
    for data in (reserved, cancelled):
        assert (data["depot_id"], data["mode_id"], data["eta"]) == \
            (d["source_depot_id"], d["mode_id"], d["eta"])
        assert data["due_at"] == d["deadline"]["due_at"] and data["due_at"].endswith("Z")
    assert (reserved["event"], cancelled["event"]) == (None, "cancelled")
    backordered = dispatch(api, ticket_id="BO", part_id="LC-10G-B", quantity=50)
    assert deliver_due(api.ctx).delivered == 1
    data = receiver.messages()[-1]["data"]
    assert data["status"] == "backordered" and data["dispatch_id"] == backordered["id"]
    assert (data["depot_id"], data["mode_id"], data["eta"]) == (None, None, None)
    assert data["due_at"] == backordered["deadline"]["due_at"]


def test_each_message_is_signed_when_it_is_sent(api, names, receiver):
    """Three messages in one pass: each carries the instant of its own send, read just
    before it, and verifies at that instant."""
    sub = subscribe(api, receiver.url)
    for n in range(3):
        dispatch(api, ticket_id=f"S{n}")
    start = datetime.now(UTC).replace(microsecond=0)
    reads: list[datetime] = []

    def clock() -> datetime:
        reads.append(start + timedelta(seconds=7 * len(reads)))
        if len(reads) > 1:  # the previous message has reached the receiver by now
            assert len(receiver.got) == len(reads) - 1
        return reads[-1]

    assert deliver_due(api.ctx, clock=clock).delivered == 3
    stamps = [int(h["webhook-timestamp"]) for h, _ in receiver.got]
    assert stamps == [int(t.timestamp()) for t in reads]
    for (headers, payload), at in zip(receiver.got, reads, strict=True):
        assert headers["webhook-signature"] == reference_signature(
            sub["secret"], headers["webhook-id"], str(int(at.timestamp())), payload)


INWARD = [
    ("http://127.0.0.1:5432/", "https"),
    ("https://127.0.0.1:5432/", "loopback"),
    ("https://localhost.test/", UNRESOLVED),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://10.0.0.1/", "private"),
    ("https://[::1]:22/", "loopback"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://[::ffff:a9fe:a9fe]/", "metadata"),
    ("https://2130706433/", "loopback"),
    ("https://0x7f.1:8080/", "loopback"),
    ("https://[fe80::1]/", "link-local"),
    ("https://224.0.0.1/", "multicast"),
    ("https://100.100.100.200/", "metadata"),
    ("https://internal.test/", UNRESOLVED),
    ("https://nowhere.test/", UNRESOLVED),
    ("https://user:pw@public.test/", "user name"),
    ("http://public.test/", "https"),
]


def test_registration_refuses_urls_that_point_inward(api, names):
    names.table.update({"internal.test": ["10.1.2.3"], "public.test": [PUBLIC],
                        "localhost.test": ["127.0.0.1", PUBLIC]})
    for url, message in INWARD:
        r = api.client.post("/v1/webhooks", json={"url": url}, headers=api.h())
        assert r.status_code == 422, (url, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        (error,) = r.json()["errors"]
        assert error["field"] == "body.url" and message in error["message"], (url, error)
    assert api.client.get("/v1/webhooks", headers=api.h()).json()["items"] == []
    assert subscribe(api, "https://public.test/hook")["url"] == "https://public.test/hook"


def test_the_address_is_checked_again_at_delivery_before_any_connection(api, names):
    """DNS that answered a public address at registration and an internal one later (rebinding):
    the delivery is refused without a connection, with the same reason as an unknown name."""
    names.table["rebind.test"] = [PUBLIC]
    sub = subscribe(api, "https://rebind.test/hook")
    dispatch(api)
    names.table["rebind.test"] = ["169.254.169.254"]
    outside = Outside()
    with outside.client() as client:
        rep = deliver_due(api.ctx, client=client)
    assert (rep.delivered, rep.failed) == (0, 1) and outside.requests == []
    (msg,) = outbox(api, sub["id"])
    assert msg["last_error"] == f"destination refused: {UNRESOLVED}"
    names.table.pop("rebind.test")  # no answer at all reads the same
    with outside.client() as client:
        deliver_due(api.ctx, client=client, now=datetime.now(UTC) + timedelta(minutes=5))
    assert outbox(api, sub["id"])[0]["last_error"] == f"destination refused: {UNRESOLVED}"
    assert outside.requests == []


def test_the_connection_goes_to_the_checked_address(api, names, receiver):
    """The request is sent to the address the check resolved (the URL's host goes in ``Host``
    and the TLS server name), so a second DNS answer cannot redirect it."""
    names.table["tickets.test"] = [PUBLIC, "2606:4700::6810:84e5"]
    subscribe(api, "https://tickets.test:8443/hooks/spares?src=spares")
    dispatch(api)
    outside = Outside()
    lookups = len(names.lookups)
    with outside.client() as client:
        assert deliver_due(api.ctx, client=client).delivered == 1
    (req,) = outside.requests
    assert (req.url.scheme, req.url.host, req.url.port) == ("https", PUBLIC, 8443)
    assert req.url.raw_path == b"/hooks/spares?src=spares"
    assert req.headers["host"] == "tickets.test:8443"
    assert req.extensions["sni_hostname"] == "tickets.test"
    assert names.lookups[lookups:] == ["tickets.test"]  # resolved once, for the check


def test_a_name_known_only_to_the_check_is_reached_at_the_checked_address(api, names, receiver):
    """Over a real socket: ``receiver.test`` exists only in the test table, so the request can
    only have reached the receiver through the address the check resolved."""
    subscribe(api, f"http://receiver.test:{receiver.port}/named?x=1")
    dispatch(api)
    assert deliver_due(api.ctx).delivered == 1
    (headers, _), = receiver.got
    assert headers["host"] == f"receiver.test:{receiver.port}"


def test_a_long_pass_hands_back_what_it_could_not_send_within_its_claim(api, names, monkeypatch):
    """A pass sends for at most half its claim's lease; the rest go back due, tries uncounted."""
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self.rfile.read(int(self.headers["content-length"]))
            time.sleep(0.4)
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        origin = f"http://127.0.0.1:{server.server_port}"
        api.ctx.settings.webhook_allow = (origin,)
        monkeypatch.setattr(worker_module, "lease", lambda settings: timedelta(seconds=1))
        sub = subscribe(api, f"{origin}/hook")
        for n in range(4):
            dispatch(api, ticket_id=f"L{n}")
        now = datetime.now(UTC)
        first = deliver_due(api.ctx, now=now)
        assert first.delivered in (1, 2) and first.failed == 0  # 0.4 s each, 0.5 s budget
        waiting = outbox(api, sub["id"], status="pending")
        assert len(waiting) == 4 - first.delivered and all(m["attempts"] == 0 for m in waiting)
        passes = [deliver_due(api.ctx, now=now).delivered for _ in range(3)]
        assert sum(passes) == len(waiting) and outbox(api, sub["id"], status="pending") == []
        assert all(m["attempts"] == 1 for m in outbox(api, sub["id"]))  # each sent once
    finally:
        server.shutdown()
        server.server_close()


def test_redirects_are_not_followed(api, names, receiver):
    other = Receiver()
    try:
        api.ctx.settings.webhook_allow += (other.origin,)
        receiver.status, receiver.location = 302, other.url
        sub = subscribe(api, receiver.url)
        dispatch(api)
        assert deliver_due(api.ctx).failed == 1
        assert len(receiver.got) == 1 and other.got == []
        assert outbox(api, sub["id"])[0]["last_error"] == "HTTP 302"
    finally:
        other.close()


def test_failure_reasons_do_not_map_ports(api, names, receiver):
    """A closed port, a receiver that never answers and a TLS handshake with a plain HTTP server
    read the same; only an HTTP answer is shown as its status."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts connections, never answers
    silent_port = silent.getsockname()[1]
    try:
        api.ctx.settings.webhook_timeout_seconds = 0.5
        api.ctx.settings.webhook_allow += (f"http://127.0.0.1:{closed_port}",
                                           f"http://127.0.0.1:{silent_port}",
                                           f"https://127.0.0.1:{receiver.port}")
        subs = [subscribe(api, u)["id"] for u in (
            f"http://127.0.0.1:{closed_port}/h", f"http://127.0.0.1:{silent_port}/h",
            f"https://127.0.0.1:{receiver.port}/h", receiver.url)]
        receiver.down = True
        dispatch(api)
        assert deliver_due(api.ctx).failed == 4
        errors = [outbox(api, s)[0]["last_error"] for s in subs]
        assert errors == [NO_ANSWER, NO_ANSWER, NO_ANSWER, "HTTP 503"]
    finally:
        silent.close()


def test_event_type_filters(api, names, receiver):
    every = subscribe(api, receiver.url)
    some = subscribe(api, receiver.url, event_types=["dispatch.cancelled", "dispatch.cancelled"])
    assert every["event_types"] is None and some["event_types"] == ["dispatch.cancelled"]
    d = dispatch(api)
    cancel(api, d)
    assert [m["event_type"] for m in outbox(api, every["id"])] == \
        ["dispatch.cancelled", "dispatch.reserved"]
    assert [m["event_type"] for m in outbox(api, some["id"])] == ["dispatch.cancelled"]
    for bad, field in ((["dispatch.exploded"], "body.event_types.0"), ([], "body.event_types"),
                       ("dispatch.cancelled", "body.event_types")):
        r = api.client.post("/v1/webhooks", json={"url": receiver.url, "event_types": bad},
                            headers=api.h())
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


def test_ping(api, names, receiver):
    sub = subscribe(api, receiver.url, event_types=["dispatch.delivered"])
    r = api.client.post(f"/v1/webhooks/{sub['id']}/ping", headers=api.h())
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["status"], out["attempts"], out["event_type"]) == ("delivered", 1, "webhook.ping")
    (headers, payload), = receiver.got
    assert Webhook(sub["secret"]).verify(payload, headers) == {
        "type": "webhook.ping", "timestamp": out["payload"]["timestamp"],
        "data": {"subscription_id": sub["id"]}}
    receiver.down = True
    failed = api.client.post(f"/v1/webhooks/{sub['id']}/ping", headers=api.h()).json()
    assert (failed["status"], failed["attempts"], failed["last_error"]) == ("failed", 1, "HTTP 503")
    assert deliver_due(api.ctx, now=datetime.now(UTC) + timedelta(hours=1)).failed == 0  # once
    org_key(api, "other-org")  # a key of another organization does not see it
    nope = api.client.post(f"/v1/webhooks/{sub['id']}/ping", headers=api.h("other-org"))
    assert nope.status_code == 404
    assert api.client.delete(f"/v1/webhooks/{sub['id']}", headers=api.h()).status_code == 204
    gone = api.client.post(f"/v1/webhooks/{sub['id']}/ping", headers=api.h())
    assert gone.status_code == 409 and gone.json()["type"].endswith("subscription-inactive")


def test_secret_rotation_keeps_the_old_secret_signing_for_the_overlap(api, names, receiver):
    sub = subscribe(api, receiver.url)
    old = sub["secret"]
    r = api.client.post(f"/v1/webhooks/{sub['id']}/rotate-secret", json={"overlap_hours": 2},
                        headers=api.h())
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and new.startswith("whsec_") and r.json()["previous_secret_expires_at"]
    assert api.client.get("/v1/webhooks", headers=api.h()).json()["items"][0]["secret"] is None
    dispatch(api)
    assert deliver_due(api.ctx).delivered == 1
    headers, payload = receiver.got[-1]
    for secret in (old, new):  # a receiver holding either secret accepts the message
        assert Webhook(secret).verify(payload, headers)
    assert len(headers["webhook-signature"].split()) == 2
    # after the overlap only the new secret signs
    dispatch(api, ticket_id="LATER")
    later = datetime.now(UTC) + timedelta(hours=3)
    assert deliver_due(api.ctx, now=later, clock=lambda: later).delivered == 1
    headers, payload = receiver.got[-1]
    assert headers["webhook-signature"] == reference_signature(
        new, headers["webhook-id"], headers["webhook-timestamp"], payload)
    # a rotation without overlap stops the old secret at once
    r = api.client.post(f"/v1/webhooks/{sub['id']}/rotate-secret", json={"overlap_hours": 0},
                        headers=api.h())
    newest = r.json()["secret"]
    assert r.json()["previous_secret_expires_at"] is None
    dispatch(api, ticket_id="NOW")
    deliver_due(api.ctx)
    headers, payload = receiver.got[-1]
    Webhook(newest).verify(payload, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(payload, headers)
    for bad in ({"overlap_hours": -1}, {"overlap_hours": 1000}, {"overlap_hours": "2"},
                {"overlap_hours": True}, {"overlap": 2}):
        r = api.client.post(f"/v1/webhooks/{sub['id']}/rotate-secret", json=bad, headers=api.h())
        assert r.status_code == 422, (bad, r.text)
    default = api.client.post(f"/v1/webhooks/{sub['id']}/rotate-secret", headers=api.h())
    assert default.status_code == 200 and default.json()["previous_secret_expires_at"]


def test_retry_horizon_decides_when_a_message_is_given_up(api, names, receiver):
    api.ctx.settings.webhook_retry_hours = 20 / 3600  # 20 s
    sub = subscribe(api, receiver.url)
    dispatch(api)
    receiver.down = True
    now = datetime.now(UTC)
    tries = []
    t = now
    while True:
        rep = deliver_due(api.ctx, now=t)
        assert rep.failed == 1
        tries.append((t - now).total_seconds())
        if rep.gave_up:
            break
        t += timedelta(seconds=backoff_seconds(len(tries)))
    # tries at 0, 2, 6, 14 s; the next would be at 30 s, past the 20 s horizon
    assert tries == [0, 2, 6, 14]
    (dead,) = outbox(api, sub["id"], status="failed")
    assert dead["attempts"] == 4 and dead["failed_at"] and dead["next_attempt_at"] is None
    assert deliver_due(api.ctx, now=now + timedelta(days=2)).failed == 0
    # a longer horizon keeps trying: a day of hourly tries after the doubling ones
    api.ctx.settings.webhook_retry_hours = 24
    r = api.client.post(f"/v1/webhooks/{sub['id']}/deliveries/{dead['id']}/retry", headers=api.h())
    assert r.status_code == 202
    start, t, n = datetime.now(UTC), datetime.now(UTC), 0
    while not deliver_due(api.ctx, now=t).gave_up:
        n += 1
        t += timedelta(seconds=backoff_seconds(n))
    elapsed = (t - start).total_seconds()
    assert 23 * 3600 <= elapsed <= 24 * 3600 and n + 1 == 12 + int((24 * 3600 - 4094) // 3600)


def test_dead_letters_are_listed_and_retried(api, names, receiver):
    api.ctx.settings.webhook_retry_hours = 3 / 3600
    sub = subscribe(api, receiver.url)
    dispatch(api)
    url = f"/v1/webhooks/{sub['id']}/deliveries"
    receiver.down = True
    now = datetime.now(UTC)
    assert deliver_due(api.ctx, now=now).gave_up == 0
    (pending,) = outbox(api, sub["id"], status="pending")
    assert pending["attempts"] == 1 and pending["next_attempt_at"]
    assert deliver_due(api.ctx, now=now + timedelta(seconds=2)).gave_up == 1
    assert deliver_due(api.ctx, now=now + timedelta(days=1)).failed == 0  # no try left
    assert outbox(api, sub["id"], status="pending") == []
    (dead,) = outbox(api, sub["id"], status="failed")
    assert dead["id"] == pending["id"] and dead["status"] == "failed"
    assert (dead["attempts"], dead["last_error"]) == (2, "HTTP 503")
    assert dead["next_attempt_at"] is None and dead["payload"]["type"] == "dispatch.reserved"
    # the owner and an admin see it; another organization's key does not; a planner key lacks
    # the scope
    assert api.client.get(url, headers=api.h("admin")).json()["items"] == [dead]
    org_key(api, "other-org")
    nope = api.client.get(url, headers=api.h("other-org"))
    assert nope.status_code == 404 and nope.json()["errors"][0]["field"] == "path.subscription_id"
    assert api.client.get(url, headers=api.h("planner")).status_code == 403
    bad = api.client.get(url, params={"status": "lost"}, headers=api.h())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.status"
    # retry: tries start over and the next pass delivers it, once
    receiver.down = False
    r = api.client.post(f"{url}/{dead['id']}/retry", headers=api.h())
    assert r.status_code == 202 and (r.json()["status"], r.json()["attempts"]) == ("pending", 0)
    assert deliver_due(api.ctx, now=datetime.now(UTC) + timedelta(seconds=1)).delivered == 1
    assert len(receiver.got) == 1 and receiver.got[0][0]["webhook-id"] == dead["id"]
    (done,) = outbox(api, sub["id"], status="delivered")
    assert done["id"] == dead["id"] and done["last_error"] is None and done["delivered_at"]
    again = api.client.post(f"{url}/{dead['id']}/retry", headers=api.h())
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "path.message_id"
    assert api.client.post(f"{url}/msg_00/retry", headers=api.h()).status_code == 404


def test_removing_a_subscription_fails_its_queue_and_refuses_retries(api, names, receiver):
    sub = subscribe(api, receiver.url)
    dispatch(api)
    assert api.client.delete(f"/v1/webhooks/{sub['id']}", headers=api.h()).status_code == 204
    assert deliver_due(api.ctx).delivered == 0 and receiver.got == []
    (dead,) = outbox(api, sub["id"], status="failed")
    assert dead["last_error"] == "subscription removed"
    r = api.client.post(f"/v1/webhooks/{sub['id']}/deliveries/{dead['id']}/retry",
                        headers=api.h())
    assert r.status_code == 409 and r.json()["type"].endswith("subscription-inactive")
    assert api.client.delete(f"/v1/webhooks/{sub['id']}", headers=api.h()).status_code == 404


def test_subscriptions_are_capped_per_organization_and_listed_in_pages(api, names, receiver):
    api.ctx.settings.webhook_max_subscriptions = 3
    ids = [subscribe(api, f"{receiver.url}/{n}")["id"] for n in range(3)]
    r = api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.h())
    assert r.status_code == 409 and r.json()["type"].endswith("subscription-limit")
    assert r.headers["content-type"] == "application/problem+json"
    org_key(api, "partner-b")
    subscribe(api, receiver.url, who="partner-b")  # another organization has its own allowance
    api.client.delete(f"/v1/webhooks/{ids[1]}", headers=api.h())
    ids = [ids[0], ids[2], subscribe(api, receiver.url)["id"]]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/webhooks", params=params, headers=api.h()).json()
        seen += [s["id"] for s in page["items"]]
        assert page["has_more"] is (page["next_cursor"] is not None)
        assert page["count"] == len(page["items"])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == ids
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 201}, "query.limit"),
                          ({"cursor": "bm9wZQ"}, "query.cursor"), ({"cursor": "%%%"}, "query.cursor"),
                          ({"cursor": pagination.encode("deliveries", ["2025-01-01T00:00Z",
                                                                       "whs_00"])}, "query.cursor"),
                          ({"cursor": pagination.encode("webhooks", ["0001-01-01T00:00:00+14:00",
                                                                     "whs_00"])}, "query.cursor"),
                          ({"cursor": pagination.encode("webhooks", ["2025-01-01T00:00Z",
                                                                     "whs_\u0000"])},
                           "query.cursor")):
        r = api.client.get("/v1/webhooks", params=params, headers=api.h())
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


def test_racing_creates_do_not_pass_the_cap(api, names, receiver):
    from concurrent.futures import ThreadPoolExecutor

    api.ctx.settings.webhook_max_subscriptions = 3
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda n: api.client.post(
            "/v1/webhooks", json={"url": f"{receiver.url}/{n}"}, headers=api.h()).status_code,
            range(8)))
    assert sorted(codes) == [201] * 3 + [409] * 5
    assert api.client.get("/v1/webhooks", headers=api.h()).json()["count"] == 3


def test_odd_ids_in_paths_are_refused_naming_the_field(api, names, receiver):
    sub = subscribe(api, receiver.url)
    for path, field in (("/v1/webhooks/whs_%00/deliveries", "path.subscription_id"),
                        (f"/v1/webhooks/{'w' * 41}/ping", "path.subscription_id"),
                        (f"/v1/webhooks/{sub['id']}/deliveries/msg_%01/retry", "path.message_id")):
        method = api.client.get if path.endswith("deliveries") else api.client.post
        r = method(path, headers=api.h())
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    long = api.client.post("/v1/webhooks", json={"url": "https://public.test/" + "x" * 2000},
                           headers=api.h())
    assert long.status_code == 422 and long.json()["errors"][0]["field"] == "body.url"


def test_deliveries_are_listed_in_pages_newest_first(api, names, receiver):
    sub = subscribe(api, receiver.url)
    for n in range(5):
        dispatch(api, ticket_id=f"P{n}")
    everything = outbox(api, sub["id"], limit=200)
    assert len(everything) == 5
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(f"/v1/webhooks/{sub['id']}/deliveries", params=params,
                              headers=api.h()).json()
        pages.append([m["id"] for m in page["items"]])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sum(pages, []) == [m["id"] for m in everything]
    assert [m["payload"]["data"]["ticket_id"] for m in everything] == \
        ["P4", "P3", "P2", "P1", "P0"]


def test_a_rolled_back_change_sends_nothing(api, names, receiver):
    subscribe(api, receiver.url)
    d = dispatch(api)
    illegal = api.client.post(f"/v1/dispatches/{d['id']}/events",
                              json={"kind": "delivered", "at": "2025-06-04T11:00:00+08:00"},
                              headers=api.h())
    assert illegal.status_code == 409
    assert deliver_due(api.ctx).delivered == 1  # only the create
    bad = api.client.post("/v1/webhooks", json={"url": "not a url"}, headers=api.h())
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.url"


def test_outbox_survives_a_restart_and_the_worker_thread_delivers(api, names, receiver, tiny):
    from api.app import build_context
    from api.context import ApiSettings

    subscribe(api, receiver.url)
    dispatch(api)
    url = api.ctx.settings.database_url
    api.ctx.dispose()  # the server goes away with the message still queued
    fresh = build_context(ApiSettings(database_url=url, scenario=tiny, webhook_poll_seconds=0.05,
                                      webhook_allow=(receiver.origin,)))
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
    assert [m["type"] for m in receiver.messages()] == ["dispatch.reserved"]


def test_the_worker_logs_a_failing_pass_and_keeps_going(api, monkeypatch, caplog):
    calls = []

    def broken(ctx, **kwargs):
        calls.append(1)
        raise RuntimeError("database went away")

    monkeypatch.setattr(worker_module, "deliver_due", broken)
    api.ctx.settings.webhook_poll_seconds = 0.02
    worker = WebhookWorker(api.ctx)
    with caplog.at_level(logging.ERROR, logger="api.webhooks.worker"):
        worker.start()
        for _ in range(200):
            if len(calls) >= 2:
                break
            time.sleep(0.02)
        worker.stop()
    assert len(calls) >= 2  # the thread survived the first failure
    record = next(r for r in caplog.records if "delivery pass failed" in r.getMessage())
    assert record.exc_info and "database went away" in str(record.exc_info[1])


def test_a_hanging_receiver_blocks_neither_dispatches_nor_a_second_worker(api, names):
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
        origin = f"http://127.0.0.1:{server.server_port}"
        api.ctx.settings.webhook_allow = (origin,)
        api.ctx.settings.webhook_timeout_seconds = 30
        subscribe(api, f"{origin}/hook")
        dispatch(api, ticket_id="W1")
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
