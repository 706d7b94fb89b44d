"""Webhook costs: what subscriptions add to a dispatch create, and how fast the outbox drains.

In process, on a fresh SQLite file with the bundled ``tiny`` scenario (so the decision itself is
cheap and the webhook share shows):

1. ``POST /v1/dispatches`` latency (through the ASGI app) with 0, 1, 20 (the default cap per
   key) and ``--many`` subscriptions of the caller: each create writes one outbox row per
   subscription in its transaction. The stock is reloaded before each series, so every series
   makes the same decisions. Then :func:`api.webhooks.service.enqueue` alone, the fan-out cost
   without the decision.
2. Delivery: ``--messages`` queued messages to one subscription at a receiver on 127.0.0.1
   (allow-listed), drained by :func:`api.webhooks.worker.deliver_due` passes; messages per
   second end to end (claim, address check, per-message signing, POST, record).
3. The per-message overhead of the destination check (parse + address check of an IP URL, and of
   a host name through a fixed resolver table) and of signing with one and with two secrets.

    python benchmarks/webhook_delivery.py --creates 300 --messages 2000

127.0.0.1 only: the receiver is local and host names come from a table, never from DNS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would
    count = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers["content-length"]))
        _Sink.count += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _percentiles(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, mean {statistics.fmean(ms):.2f} ms"


def _micro(label: str, fn, n: int) -> None:
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    print(f"  {label}: {(time.perf_counter() - start) / n * 1e6:.1f} us")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--creates", type=int, default=300, help="dispatch creates per series")
    ap.add_argument("--many", type=int, default=200, help="the largest subscription count")
    ap.add_argument("--messages", type=int, default=2000, help="messages to drain")
    args = ap.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import delete

    import scenarios
    from api.app import build_context, create_app
    from api.auth.service import create_key
    from api.context import ApiSettings
    from api.limits import Limits
    from api.webhooks import destinations, signing
    from api.webhooks.service import Subscriber, enqueue
    from api.webhooks.worker import deliver_due
    from inventory.db.dispatch_models import WebhookOutbox, WebhookSubscription
    from inventory.db.load import load_scenario
    from inventory.db.migrate import upgrade

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    tiny = scenarios.load("tiny")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        ctx = build_context(ApiSettings(database_url=url, scenario=tiny, webhook_allow=(origin,),
                                        webhook_max_subscriptions=args.many))
        with ctx.sessions() as s:
            load_scenario(tiny, session=s, replace=True)
            key = create_key(session=s, name="bench", scopes="ticketing")[1]
        auth = {"Authorization": f"Bearer {key}"}
        body = {"ticket_id": "B", "site_id": "GZ-01", "part_id": "PSU-1200", "severity": 1,
                "reported_at": datetime.now(UTC).isoformat()}
        print(f"dispatch create through the app, {args.creates} creates per series (tiny):")
        app = create_app(context=ctx, limits=Limits(per_key=None, per_address=None,
                                                    auth_failures=None))  # no rate limits
        with TestClient(app) as client:
            made = 0
            for n in (0, 1, 20, args.many):
                with ctx.sessions() as s:
                    s.execute(delete(WebhookOutbox))
                    load_scenario(tiny, session=s, replace=True)
                while made < n:
                    r = client.post("/v1/webhooks", json={"url": f"{origin}/h{made}"},
                                    headers=auth)
                    assert r.status_code == 201, r.text
                    made += 1
                ms = []
                for i in range(args.creates):
                    h = {**auth, "Idempotency-Key": uuid.uuid4().hex}
                    t = time.perf_counter()
                    r = client.post("/v1/dispatches", json={**body, "ticket_id": f"B{n}-{i}"},
                                    headers=h)
                    ms.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 201, r.text
                print(f"  {n:4d} subscriptions: {_percentiles(ms)}")
            with ctx.sessions() as s:
                s.execute(delete(WebhookOutbox))
                s.execute(delete(WebhookSubscription))
            r = client.post("/v1/webhooks", json={"url": f"{origin}/drain"}, headers=auth)
            assert r.status_code == 201, r.text
            for i in range(args.messages):  # backorders once the stock is gone: cheap creates
                r = client.post("/v1/dispatches", json={**body, "ticket_id": f"D{i}"},
                                headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
                assert r.status_code == 201, r.text
        print("enqueue alone (one event to n subscribers, its own write transaction, 200 times):")
        with ctx.sessions() as s:
            for i in range(args.many):
                s.add(WebhookSubscription(id=f"whs_{i:04x}", owner="bench-enqueue", url=origin,
                                          secret=signing.new_secret(), active=True,
                                          created_at=datetime.now(UTC)))
        for n in (0, 1, 20, args.many):
            subs = [Subscriber(f"whs_{i:04x}", None) for i in range(n)]
            ms = []
            for _ in range(200):
                t = time.perf_counter()
                with ctx.transaction() as conn:
                    enqueue(session=conn, owner="bench-enqueue", event_type="dispatch.reserved",
                            data={"dispatch_id": "dsp_0"}, subscribers=subs)
                ms.append((time.perf_counter() - t) * 1000)
            print(f"  {n:4d} subscribers: {_percentiles(ms)}")
        with ctx.sessions() as s:
            s.execute(delete(WebhookOutbox).where(WebhookOutbox.subscription_id.in_(
                [f"whs_{i:04x}" for i in range(args.many)])))
        _Sink.count = 0
        start = time.perf_counter()
        passes = delivered = 0
        while True:
            rep = deliver_due(ctx)
            if rep.delivered == 0 and rep.failed == 0:
                break
            passes += 1
            delivered += rep.delivered
            assert rep.failed == 0
        elapsed = time.perf_counter() - start
        print(f"delivery: {delivered} messages in {elapsed:.2f} s over {passes} passes "
              f"({delivered / elapsed:.0f} messages/s; receiver counted {_Sink.count})")
        ctx.dispose()
    server.shutdown()

    print("per message:")
    table = {"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::248"]}
    allowed: frozenset[str] = frozenset()
    _micro("check https://93.184.216.34/h (parse + address)",
           lambda: destinations.pin(destinations.parse("https://93.184.216.34/h", allowed),
                                    lambda h, p: []), 20000)
    _micro("check https://hooks.example.com/h (parse + 2 addresses from a table)",
           lambda: destinations.pin(destinations.parse("https://hooks.example.com/h", allowed),
                                    lambda h, p: table[h]), 20000)
    payload = '{"type":"dispatch.reserved","data":{"dispatch_id":"dsp_0123456789abcdef"}}' * 4
    one, two = [signing.new_secret()], [signing.new_secret(), signing.new_secret()]
    now = datetime.now(UTC)
    _micro("sign with one secret", lambda: signing.headers(one, "msg_1", now, payload), 20000)
    _micro("sign with two secrets (rotation overlap)",
           lambda: signing.headers(two, "msg_1", now, payload), 20000)


if __name__ == "__main__":
    main()
