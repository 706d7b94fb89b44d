"""Serving under load on PostgreSQL: dropped connections and /healthz latency.

Creates a scratch database (``spares_serve_bench``) on the PostgreSQL server of the tests (or
``--url``), loads the bundled ``cn-telecom`` scenario and one ticketing key, starts
``spares serve --workers 2`` on 127.0.0.1 with the per-key and per-address rate limits off, and
fires ``--clients`` closed-loop clients at scarce stock: every request asks for one of a few
parts (``--hot-parts``) at one of a few sites, so the stock runs out during the run and the
reservations race for the last units. Each client keeps one keep-alive connection and now and
then pauses 4-7 s between requests, as pooled ticket-system clients do (a pause longer than the
server's keep-alive exposes the race where the server closes the connection just as the client
reuses it). Meanwhile a probe opens a new connection every ``--probe-ms`` and times ``GET
/healthz``.

A dropped connection is a request sent that got no HTTP answer (connection reset or closed
before the status line); it is not retried. The figures: requests, answers by status, dropped
connections (target 0), dispatch latency and /healthz p50/p99/max (target p99 <= 100 ms).

    python benchmarks/serve_load.py --duration 60
    python benchmarks/serve_load.py --url postgresql://postgres@127.0.0.1:5432/postgres

Bounded: ``--duration`` seconds of load (requests time out after 30 s); loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dispatch_load import prepare, server_cpu_seconds, start_server  # noqa: E402

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "spares_serve_bench"
HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    latency_ms: list[float] = field(default_factory=list)
    pauses: int = 0


def scratch_database(server_url: str) -> str:
    """A fresh database :data:`BENCH_DB` on the server of ``server_url``; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from inventory.db.engine import normalize_url

    url = make_url(normalize_url(server_url))
    if url.host not in (None, "localhost") and not str(url.host).startswith("127."):
        raise SystemExit(f"--url must point at loopback, not {url.host}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    return url.set(database=BENCH_DB).render_as_string(hide_password=False)


def drop_database(server_url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from inventory.db.engine import normalize_url

    admin = create_engine(make_url(normalize_url(server_url)).set(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
    admin.dispose()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request; the status and body of the answer."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(int(v) for k, _, v in (x.partition(":") for x in lines[1:])
                  if k.lower() == "content-length")
    return status, await reader.readexactly(length)


async def client(i: int, port: int, key: str, pairs: list[tuple[str, str]], stop: float,
                 rng: random.Random, pause_share: float, tally: Tally) -> None:
    """One pooled client: one keep-alive connection, reopened only after the server closed it."""
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    n = 0
    while time.perf_counter() < stop:
        if rng.random() < pause_share:
            tally.pauses += 1
            await asyncio.sleep(rng.uniform(4.0, 7.0))
            if time.perf_counter() >= stop:
                break
        site, part = pairs[rng.randrange(len(pairs))]
        body = json.dumps({"ticket_id": f"SRV-{i}-{n}", "site_id": site, "part_id": part,
                           "severity": rng.choice((1, 2, 3)),
                           "reported_at": datetime.now(UTC).isoformat()}).encode()
        n += 1
        request = (f"POST /v1/dispatches HTTP/1.1\r\nhost: {HOST}\r\ncontent-type: "
                   f"application/json\r\ncontent-length: {len(body)}\r\nauthorization: Bearer "
                   f"{key}\r\nidempotency-key: {uuid.uuid4().hex}\r\n\r\n").encode() + body
        if conn is None or conn[0].at_eof():
            if conn is not None:
                conn[1].close()
            conn = await asyncio.open_connection(HOST, port)
        tally.sent += 1
        t = time.perf_counter()
        try:
            status, raw = await asyncio.wait_for(_exchange(*conn, request), REQUEST_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            tally.dropped[type(exc).__name__] += 1
            conn[1].close()
            conn = None
            continue
        tally.latency_ms.append((time.perf_counter() - t) * 1000)
        label = str(status)
        if status == 201:
            label = json.loads(raw)["status"]
        tally.statuses[label] += 1
    if conn is not None:
        conn[1].close()


async def probe(port: int, stop: float, every_s: float, out: list[float],
                failures: Counter[str]) -> None:
    """GET /healthz on a new connection every ``every_s``, as an orchestrator's probe does."""
    request = f"GET /healthz HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n".encode()
    while time.perf_counter() < stop:
        t = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            status, _ = await asyncio.wait_for(_exchange(reader, writer, request),
                                               REQUEST_TIMEOUT_S)
            writer.close()
            if status != 200:
                failures[f"HTTP {status}"] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            failures[type(exc).__name__] += 1
        took = time.perf_counter() - t
        out.append(took * 1000)
        await asyncio.sleep(max(0.0, every_s - took))


def worker_pids(pid: int) -> set[int]:
    """The server's worker processes now (Linux /proc; empty elsewhere)."""
    try:
        children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return set()
    workers = set()
    for child in children:  # uvicorn spawns its workers; the resource tracker is no worker
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.add(child)
        except OSError:
            continue
    return workers


async def watch_workers(pid: int, stop: float, seen: set[int]) -> None:
    """Every worker process id the server runs until ``stop``: more than ``--workers`` of them
    means the supervisor replaced (killed or lost) workers during the run."""
    while time.perf_counter() < stop:
        seen |= worker_pids(pid)
        await asyncio.sleep(0.5)


async def load(port: int, key: str, pairs: list[tuple[str, str]], clients: int,
               duration: float, probe_ms: float, pause_share: float, seed: int,
               server_pid: int) -> tuple[Tally, list[float], Counter[str], set[int]]:
    stop = time.perf_counter() + duration
    tally, health, health_fail, workers = Tally(), [], Counter(), set()
    rng = random.Random(seed)
    tasks = [client(i, port, key, pairs, stop, random.Random(rng.random()), pause_share, tally)
             for i in range(clients)]
    await asyncio.gather(probe(port, stop, probe_ms / 1000, health, health_fail),
                         watch_workers(server_pid, stop, workers), *tasks)
    return tally, health, health_fail, workers


def hot_pairs(all_pairs: list[tuple[str, str]], hot_parts: int,
              seed: int) -> list[tuple[str, str]]:
    """The installed (site, part) pairs of ``hot_parts`` parts drawn at random: scarce stock."""
    parts = sorted({p for _, p in all_pairs})
    chosen = set(random.Random(seed).sample(parts, min(hot_parts, len(parts))))
    return [(s, p) for s, p in all_pairs if p in chosen]


def quantiles(ms: list[float]) -> str:
    if len(ms) < 2:
        return "n/a"
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(ms):.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("SPARES_TEST_PG_URL") or DEFAULT_SERVER,
                    help="a PostgreSQL server on loopback (its database is not touched: the "
                         f"benchmark creates and drops {BENCH_DB})")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2, help="spares serve --workers")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--hot-parts", type=int, default=6, help="parts the requests ask for")
    ap.add_argument("--pause-share", type=float, default=0.02,
                    help="share of requests a client sends after a 4-7 s pause")
    ap.add_argument("--probe-ms", type=float, default=100.0, help="/healthz probe interval")
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    try:
        db_url = scratch_database(args.url)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - no server: say so and stop
        raise SystemExit(f"PostgreSQL at {args.url} does not answer: {exc}") from None
    try:
        t = time.perf_counter()
        key, pairs, _ = prepare(db_url, "cn-telecom")
        pairs = hot_pairs(pairs, args.hot_parts, args.seed)
        print(f"prepared cn-telecom on PostgreSQL in {time.perf_counter() - t:.1f} s; "
              f"{len(pairs)} (site, part) pairs of {args.hot_parts} parts", flush=True)
        t = time.perf_counter()
        proc = start_server(db_url, args.port, args.workers)
        print(f"server ready in {time.perf_counter() - t:.1f} s ({args.workers} workers)",
              flush=True)
        try:
            cpu = server_cpu_seconds(proc.pid)
            tally, health, health_fail, workers = asyncio.run(
                load(args.port, key, pairs, args.clients, args.duration, args.probe_ms,
                     args.pause_share, args.seed, proc.pid))
            cpu = server_cpu_seconds(proc.pid) - cpu
            alive = proc.poll() is None
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    finally:
        drop_database(args.url)
    dropped = sum(tally.dropped.values())
    print(f"{args.clients} clients, {args.duration:.0f} s, --workers {args.workers}: "
          f"{tally.sent} requests ({tally.pauses} after a 4-7 s pause), answers "
          f"{dict(tally.statuses)}, dropped connections {dropped}"
          + (f" {dict(tally.dropped)}" if dropped else "")
          + f"; dispatch latency {quantiles(tally.latency_ms)}; server CPU {cpu:.1f} s; "
          f"worker processes seen {len(workers)} (restarts "
          f"{max(0, len(workers) - args.workers)}); server {'still up' if alive else 'EXITED'}")
    print(f"/healthz ({len(health)} probes, new connection each): {quantiles(health)}"
          + (f"; failed {dict(health_fail)}" if health_fail else ""))


if __name__ == "__main__":
    main()
