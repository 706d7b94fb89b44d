"""Load benchmark of the dispatch API: decision + reservation under an open-loop request rate.

Sets up a fresh SQLite database with the bundled ``cn-telecom`` scenario and one API key, starts
``spares serve`` on 127.0.0.1 in a subprocess, and sends ``POST /v1/dispatches`` at a fixed rate
from an asyncio load generator over keep-alive HTTP/1.1 connections (uvloop when installed; a
minimal client, so the generator takes little of the two cores it shares with the server). Open
loop: request i is due at ``start + i / rate`` and its latency is measured from that due time, so
a slow server cannot hide queueing. Requests draw a random installed (site, part) pair, a
severity from the scenario's severity mix, and are reported "now".

    python benchmarks/dispatch_load.py --rate 500 --duration 60
    python benchmarks/dispatch_load.py --find-max --duration 20     # highest rate with p99 <= 50 ms
    python benchmarks/dispatch_load.py --postgres --workers 4 --find-max --p99-ms 20

``--postgres [URL]`` runs against a scratch database (``spares_dispatch_bench``, dropped after) on
the local PostgreSQL (default ``$SPARES_TEST_PG_URL`` or postgres@127.0.0.1:5432, as the tests
find it) instead of a SQLite file, and also reports the PostgreSQL server processes' CPU per
request (all ``postgres`` processes on the machine: other users of that server inflate it).

Bounded: at most ``--rate * --duration`` requests (capped by ``--max-requests``); a run stops early
(flagged SATURATED) once more than ``max(200, 5 * rate)`` requests are in flight; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class RunResult:
    rate: float
    sent: int
    ok: int
    errors: int
    reserved: int
    backordered: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    achieved_rps: float
    saturated: bool = False
    failures: dict[str, int] = field(default_factory=dict)
    server_cpu_ms: float = float("nan")
    """Server CPU milliseconds per request over the run (see :func:`server_cpu_seconds`)."""
    db_cpu_ms: float = float("nan")
    """PostgreSQL CPU milliseconds per request (:func:`postgres_cpu_seconds`; NaN on SQLite)."""


def prepare(db_url: str, scenario_name: str,
            stock_multiplier: int = 1) -> tuple[str, list[tuple[str, str]], tuple[float, ...]]:
    """Migrate, load the scenario, create a ticketing key; returns the key and request pairs.

    ``stock_multiplier`` k > 1 receives (k - 1) x the opening on-hand stock at every depot (one
    ledger receipt each), so a long run keeps exercising reservations (and rationing) instead
    of turning into backorders once the opening stock is gone."""
    import scenarios
    from api.auth.service import create_key
    from inventory.db.engine import make_engine, session_factory
    from inventory.db.load import load_scenario
    from inventory.db.migrate import upgrade

    sc = scenarios.load(scenario_name)
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        load_scenario(sc, session=session)
    if stock_multiplier > 1:
        from inventory import ledger

        with sessions() as session, session.begin():
            for s in sc.stock:
                if s.on_hand > 0:
                    ledger.receive(session=session, depot_id=s.depot_id, part_id=s.part_id,
                                   quantity=(stock_multiplier - 1) * s.on_hand,
                                   reference="benchmark stock multiplier")
    with sessions() as session, session.begin():
        key = create_key(session=session, name="load-benchmark", scopes="ticketing")[1]
    engine.dispose()
    pairs = sorted({(b.site_id, b.part_id) for b in sc.installed_base})
    return key, pairs, sc.settings.severity_mix


def start_server(db_url: str, port: int, workers: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from api.cli.main import app; app()", "serve", "--url", db_url,
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    # the benchmark measures capacity: one key from one address, far above the rate limits
    env = {**os.environ, "SPARES_RATE_PER_KEY": "off", "SPARES_RATE_PER_ADDRESS": "off"}
    # the server's log (an access line per request) goes to a file: a pipe nobody reads while
    # the load runs fills up and stops the server
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, env=env)
    proc.log = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {server_log(proc)[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("server did not become ready within 120 s")


class _Conn:
    """One keep-alive HTTP/1.1 connection to the server (a minimal client: the load generator
    shares the machine's two cores with the server, so it must cost little CPU per request)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes, headers: str) -> tuple[int, bytes]:
        self.writer.write(f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: "
                          f"application/json\r\ncontent-length: {len(body)}\r\n{headers}\r\n"
                          .encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (x.partition(":") for x in lines[1:])
                      if k.lower() == "content-length")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def server_log(proc: subprocess.Popen) -> str:
    """What the server wrote to stderr so far (its log)."""
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    return log.read().decode(errors="replace")


async def run_rate(port: int, key: str, pairs: list[tuple[str, str]], mix: tuple[float, ...],
                   rate: float, duration: float, max_requests: int, seed: int) -> RunResult:
    """Open loop: request i is due at start + i / rate; its latency counts from that instant."""
    rng = random.Random(seed)
    n = min(int(rate * duration), max_requests)
    lat: list[float] = []
    outcome = {"ok": 0, "err": 0, "reserved": 0, "backordered": 0}
    inflight = 0
    max_backlog = max(200, int(5 * rate))  # beyond this the server has fallen behind: stop
    saturated = False
    idle: list[_Conn] = []
    failures: Counter[str] = Counter()
    auth = f"authorization: Bearer {key}\r\n"

    async def one(i: int, due: float) -> None:
        nonlocal inflight
        inflight += 1
        site, part = pairs[rng.randrange(len(pairs))]
        sev = rng.choices((1, 2, 3, 4), weights=mix)[0]
        # reported now: the server ships from its own clock, so an old instant would be late
        body = json.dumps({"ticket_id": f"LOAD-{rate:g}-{i}", "site_id": site, "part_id": part,
                           "severity": sev, "reported_at": datetime.now(UTC).isoformat()}).encode()
        conn = idle.pop() if idle else None
        headers = f"{auth}idempotency-key: {uuid.uuid4().hex}\r\n"
        try:
            if conn is not None:
                try:
                    status, raw = await conn.post("/v1/dispatches", body, headers)
                except (OSError, asyncio.IncompleteReadError):
                    # the server closed this idle keep-alive connection: send on a fresh one
                    # (same Idempotency-Key, so a request that did arrive is not decided twice)
                    conn.close()
                    conn = None
            if conn is None:
                conn = await _Conn.open(port)
                status, raw = await conn.post("/v1/dispatches", body, headers)
            good = status == 201
            if not good:
                failures[f"HTTP {status}"] += 1
            else:
                st = json.loads(raw)["status"]
                outcome[st] = outcome.get(st, 0) + 1
            idle.append(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            good = False
            failures[type(exc).__name__] += 1
            if conn is not None:
                conn.close()
        lat.append((time.perf_counter() - due) * 1000)
        outcome["ok" if good else "err"] += 1
        inflight -= 1

    start = time.perf_counter() + 0.2
    tasks = []
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if inflight > max_backlog:
            saturated = True
            break
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for c in idle:
        c.close()
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return RunResult(rate, len(tasks), outcome["ok"], outcome["err"], outcome["reserved"],
                     outcome["backordered"], q[49], q[89], q[98], max(lat), len(tasks) / elapsed,
                     saturated, dict(failures))


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the server process and its children (uvicorn workers), from
    /proc (Linux); NaN elsewhere. The difference over a run divided by the requests served is the
    server's CPU cost per request, a figure that other load on the machine inflates far less
    than it inflates latency."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        for p in pids:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    except (OSError, ValueError):
        return float("nan")
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of every ``postgres`` process on this machine (from /proc;
    the server's backends serve the benchmark's connections), NaN where /proc is missing."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        procs = list(Path("/proc").iterdir())
    except OSError:
        return float("nan")
    for p in procs:
        if not p.name.isdigit():
            continue
        try:
            if (p / "comm").read_text().strip() != "postgres":
                continue
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total


PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "spares_dispatch_bench"


def pg_scratch(server_url: str, drop_only: bool = False) -> str:
    """A fresh database :data:`PG_BENCH_DB` on the (loopback) server of ``server_url``; its URL.
    ``drop_only``: drop it and return ""."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from inventory.db.engine import normalize_url

    url = make_url(normalize_url(server_url))
    if url.host not in (None, "localhost") and not str(url.host).startswith("127."):
        raise SystemExit(f"--postgres must point at loopback, not {url.host}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"))
        if not drop_only:
            conn.execute(text(f"CREATE DATABASE {PG_BENCH_DB}"))
    admin.dispose()
    return "" if drop_only else url.set(database=PG_BENCH_DB).render_as_string(hide_password=False)


def report(r: RunResult) -> str:
    cpu = r.server_cpu_ms + (0.0 if r.db_cpu_ms != r.db_cpu_ms else r.db_cpu_ms)
    return (f"rate {r.rate:.0f}/s: sent {r.sent}, ok {r.ok}, errors {r.errors}, reserved "
            f"{r.reserved}, backordered {r.backordered}; latency p50 {r.p50_ms:.1f} ms, p90 "
            f"{r.p90_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms; achieved "
            f"{r.achieved_rps:.0f} req/s; server CPU {r.server_cpu_ms:.2f} ms per request"
            + (f", PostgreSQL CPU {r.db_cpu_ms:.2f} ms per request"
               if r.db_cpu_ms == r.db_cpu_ms else "")
            + (f" (about {1000 / cpu:.0f} requests per CPU-second)" if cpu > 0 else "")
            + (f"; errors by kind {r.failures}" if r.failures else "")
            + ("; SATURATED: stopped early, server fell behind"
                                               if r.saturated else ""))


def decision_only(scenario_name: str, n: int, seed: int) -> str:
    """Latency of the pure decision (no HTTP, no database) over ``n`` random requests."""
    import scenarios
    from optimizer.dispatch import DispatchRequest, critical_levels, decide
    from optimizer.travel import TravelNetwork

    sc = scenarios.load(scenario_name)
    net, levels = TravelNetwork(sc), critical_levels(sc)
    free = {(s.depot_id, s.part_id): s.on_hand for s in sc.stock}
    pairs = sorted({(b.site_id, b.part_id) for b in sc.installed_base})
    rng = random.Random(seed)
    base = datetime(2025, 6, 4, 2, 0, tzinfo=UTC)
    ms = []
    for i in range(n):
        site, part = pairs[rng.randrange(len(pairs))]
        req = DispatchRequest(site, part, rng.choices((1, 2, 3, 4), sc.settings.severity_mix)[0],
                              base + timedelta(minutes=7 * i))
        t = time.perf_counter()
        decide(req, scenario=sc, network=net, free_stock=free, levels=levels)
        ms.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return (f"decision only ({scenario_name}, {n} requests): p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms, "
            f"mean {statistics.fmean(ms):.2f} ms")


def in_process(scenario_name: str, n: int, seed: int, stock_multiplier: int) -> str:
    """CPU per create without the network: through the ASGI app (routing, auth, validation,
    service, encoding) and through the service function alone, on a fresh SQLite database."""
    # capacity, not the rate limits: one key from one address
    os.environ.update(SPARES_RATE_PER_KEY="off", SPARES_RATE_PER_ADDRESS="off")
    from api.app import create_app
    from api.cli.serve import build_app
    from api.dispatches import service
    from api.dispatches.models import DispatchCreate

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/cpu.db"
        key, pairs, mix = prepare(url, scenario_name, stock_multiplier)
        ctx = build_app(url, webhook_worker=False).state.ctx
        app = create_app(context=ctx)
        rng = random.Random(seed)

        def body(i: int) -> dict[str, Any]:
            site, part = pairs[rng.randrange(len(pairs))]
            return {"ticket_id": f"CPU-{i}", "site_id": site, "part_id": part,
                    "severity": rng.choices((1, 2, 3, 4), weights=mix)[0],
                    "reported_at": datetime.now(UTC).isoformat()}

        async def call(payload: dict[str, Any]) -> int:
            raw = json.dumps(payload).encode()
            headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
                       (b"content-length", str(len(raw)).encode()),
                       (b"authorization", f"Bearer {key}".encode()),
                       (b"idempotency-key", uuid.uuid4().hex.encode())]
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                     "method": "POST", "scheme": "http", "path": "/v1/dispatches",
                     "raw_path": b"/v1/dispatches", "query_string": b"", "root_path": "",
                     "headers": headers, "client": ("127.0.0.1", 1),
                     "server": ("127.0.0.1", 8000), "state": {}}
            inbox = [{"type": "http.request", "body": raw, "more_body": False}]
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return inbox.pop() if inbox else {"type": "http.disconnect"}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            await app(scope, receive, send)
            return int(sent[0]["status"])

        async def through_app() -> float:
            for i in range(100):  # warm up
                await call(body(i))
            payloads = [body(100 + i) for i in range(n)]
            t = time.process_time()
            for p in payloads:
                status = await call(p)
                if status != 201:
                    raise RuntimeError(f"create answered HTTP {status}")
            return (time.process_time() - t) * 1000 / n

        app_ms = asyncio.run(through_app())
        bodies = [DispatchCreate(**body(10**6 + i)) for i in range(n)]
        t = time.process_time()
        for b in bodies:
            service.create_dispatch(ctx, b, owner="bench", idempotency_key=uuid.uuid4().hex)
        service_ms = (time.process_time() - t) * 1000 / n
        ctx.dispose()
    return (f"in process ({scenario_name}, {n} creates each, stock x{stock_multiplier}): "
            f"{app_ms:.2f} ms CPU per create through the ASGI app, {service_ms:.2f} ms in the "
            f"service alone (decide + reserve + record)")


def _run(coro: Any) -> RunResult:
    try:
        import uvloop
    except ImportError:  # the stdlib loop works, at a higher CPU cost per request
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per rate")
    ap.add_argument("--find-max", action="store_true",
                    help="step the rate up (--start-rate, then by --step, up to --rate) while "
                         "p99 <= --p99-ms")
    ap.add_argument("--p99-ms", type=float, default=50.0)
    ap.add_argument("--start-rate", type=float, default=50.0, help="--find-max: first rate")
    ap.add_argument("--step", type=float, default=50.0, help="--find-max: rate increment")
    ap.add_argument("--max-requests", type=int, default=40_000)
    ap.add_argument("--scenario", default="cn-telecom")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=1, help="spares serve --workers")
    ap.add_argument("--stock-multiplier", type=int, default=1, metavar="K",
                    help="start with K x the opening stock (keeps long runs reserving)")
    ap.add_argument("--decision-only", type=int, metavar="N", default=0,
                    help="time N pure decisions (no server) and exit")
    ap.add_argument("--in-process", type=int, metavar="N", default=0,
                    help="CPU per create through the ASGI app and the service (no network), exit")
    ap.add_argument("--postgres", nargs="?", metavar="URL", default=None,
                    const=os.environ.get("SPARES_TEST_PG_URL") or PG_DEFAULT,
                    help="run against a scratch database on this (loopback) PostgreSQL server "
                         "instead of SQLite")
    args = ap.parse_args()
    if args.decision_only:
        print(decision_only(args.scenario, args.decision_only, args.seed))
        return
    if args.in_process:
        print(in_process(args.scenario, args.in_process, args.seed, args.stock_multiplier))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db_url = pg_scratch(args.postgres) if args.postgres else f"sqlite:///{tmp}/load.db"
        t = time.perf_counter()
        key, pairs, mix = prepare(db_url, args.scenario, args.stock_multiplier)
        print(f"prepared {args.scenario} in {time.perf_counter() - t:.1f} s ({len(pairs)} pairs) "
              f"on {'PostgreSQL' if args.postgres else 'SQLite'}, {args.workers} worker(s)")
        proc = start_server(db_url, args.port, args.workers)
        try:
            def measured(rate: float, seed: int) -> RunResult:
                cpu, own = server_cpu_seconds(proc.pid), time.process_time()
                db_cpu = postgres_cpu_seconds() if args.postgres else float("nan")
                load = os.getloadavg()[0]
                r = _run(run_rate(args.port, key, pairs, mix, rate, args.duration,
                                  args.max_requests, seed))
                r.server_cpu_ms = (server_cpu_seconds(proc.pid) - cpu) * 1000 / max(1, r.sent)
                if args.postgres:
                    r.db_cpu_ms = (postgres_cpu_seconds() - db_cpu) * 1000 / max(1, r.sent)
                print(f"(load average before the run: {load:.2f}; load generator CPU "
                      f"{(time.process_time() - own) * 1000 / max(1, r.sent):.2f} ms per request)",
                      flush=True)
                return r

            if not args.find_max:
                print(report(measured(args.rate, args.seed)))
                return
            best = None
            rate = args.start_rate
            while rate <= args.rate:
                r = measured(rate, args.seed + int(rate))
                print(report(r), flush=True)
                if r.p99_ms > args.p99_ms or r.errors or r.saturated:
                    break
                best, rate = r, rate + args.step
            print(f"highest rate with p99 <= {args.p99_ms:g} ms: "
                  f"{best.rate:.0f}/s" if best else "no rate met the p99 target")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if os.environ.get("SPARES_BENCH_SERVER_LOG"):
                print(server_log(proc)[-3000:])
            if args.postgres:
                pg_scratch(args.postgres, drop_only=True)


if __name__ == "__main__":
    main()
